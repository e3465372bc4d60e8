/* A small HTTP service for the kiln example gallery: one static binary,
 * no libraries at run time, so it runs from an image built on scratch.
 *
 *   hello-http serve [PORT]   answer GET / and GET /healthz on PORT (8080)
 *   hello-http check [PORT]   the health check: GET /healthz on 127.0.0.1,
 *                             exit 0 when it answers 200, else 1
 *
 * SIGTERM (the image's stop signal) ends the server cleanly: as PID 1 in a
 * container, a process without a handler would ignore it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;

static void stop(int signal) { (void)signal; stopping = 1; }

static int port_of(int argc, char **argv) {
    long port = argc > 2 ? strtol(argv[2], NULL, 10) : 8080;
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "hello-http: bad port %s\n", argv[2]);
        exit(2);
    }
    return (int)port;
}

static void answer(int client) {
    char request[2048];
    ssize_t got = recv(client, request, sizeof request - 1, 0);
    if (got <= 0) return;
    request[got] = '\0';
    const char *status = "200 OK", *body = "hello from a kiln image on scratch\n";
    if (strncmp(request, "GET /healthz ", 13) == 0) {
        body = "ok\n";
    } else if (strncmp(request, "GET / ", 6) != 0) {
        status = "404 Not Found";
        body = "not found\n";
    }
    char response[512];
    int length = snprintf(response, sizeof response,
                          "HTTP/1.0 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                          "Connection: close\r\n\r\n%s", status, strlen(body), body);
    send(client, response, (size_t)length, MSG_NOSIGNAL);
}

static int serve(int port) {
    struct sigaction action = {0};
    action.sa_handler = stop;  /* no SA_RESTART: accept() returns EINTR */
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);

    int server = socket(AF_INET, SOCK_STREAM, 0);
    int yes = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (server < 0 || bind(server, (struct sockaddr *)&address, sizeof address) != 0 || listen(server, 16) != 0) {
        fprintf(stderr, "hello-http: cannot listen on port %d: %s\n", port, strerror(errno));
        return 1;
    }
    printf("hello-http: listening on port %d as uid %d\n", port, (int)getuid());
    fflush(stdout);
    while (!stopping) {
        int client = accept(server, NULL, NULL);
        if (client < 0) continue;
        answer(client);
        close(client);
    }
    printf("hello-http: stopped\n");
    return 0;
}

static int check(int port) {
    int client = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (client < 0 || connect(client, (struct sockaddr *)&address, sizeof address) != 0) {
        printf("unhealthy: cannot connect to port %d: %s\n", port, strerror(errno));
        return 1;
    }
    const char request[] = "GET /healthz HTTP/1.0\r\n\r\n";
    send(client, request, sizeof request - 1, MSG_NOSIGNAL);
    char response[512] = {0};
    ssize_t got = recv(client, response, sizeof response - 1, MSG_WAITALL);
    close(client);
    if (got > 0 && strncmp(response, "HTTP/1.0 200 ", 13) == 0) {
        printf("healthy\n");
        return 0;
    }
    printf("unhealthy: %s\n", got > 0 ? response : "no answer");
    return 1;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "serve";
    if (strcmp(mode, "serve") == 0) return serve(port_of(argc, argv));
    if (strcmp(mode, "check") == 0) return check(port_of(argc, argv));
    fprintf(stderr, "usage: hello-http serve|check [PORT]\n");
    return 2;
}

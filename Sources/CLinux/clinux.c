// _GNU_SOURCE before any glibc header: it is what declares these calls.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <malloc.h>
#include <unistd.h>

#include "clinux.h"

int clinux_pipe2(int descriptors[2], int flags) {
    return pipe2(descriptors, flags);
}

int clinux_memfd_create(const char *name) {
    return memfd_create(name, MFD_CLOEXEC);
}

int clinux_fix_mmap_threshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}

int clinux_pidfd_open(pid_t pid) {
    return pidfd_open(pid, 0);
}

int clinux_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int clinux_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

int clinux_start_writeback(int descriptor, int64_t offset, int64_t count) {
    return sync_file_range(descriptor, offset, count, SYNC_FILE_RANGE_WRITE);
}

int clinux_rename_exchange(int first_directory, const char *first, int second_directory, const char *second) {
    return renameat2(first_directory, first, second_directory, second, RENAME_EXCHANGE);
}

static volatile int interrupt_pipe = -1;

static void forward_interrupt(int signal_number) {
    int saved = errno;
    unsigned char byte = (unsigned char)signal_number;
    ssize_t ignored = write(interrupt_pipe, &byte, 1);
    (void)ignored;
    errno = saved;
}

int clinux_forward_interrupts(int write_end) {
    interrupt_pipe = write_end;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = forward_interrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &action, NULL) != 0) return -1;
    if (sigaction(SIGTERM, &action, NULL) != 0) return -1;
    if (sigaction(SIGHUP, &action, NULL) != 0) return -1;
    return 0;
}

int clinux_become_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int clinux_openat2(int directory, const char *path, uint64_t flags, uint64_t resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = flags;
    how.resolve = resolve;
    return (int)syscall(SYS_openat2, directory, path, &how, sizeof how);
}

int clinux_clone_file(int destination, int source) {
    return ioctl(destination, FICLONE, source);
}

int clinux_start_keeper(const char *script, int *socket_end, pid_t *pid) {
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return -1;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    int result = posix_spawn_file_actions_adddup2(&actions, ends[1], 0);
    if (result == 0) result = posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (result == 0) result = posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (result == 0) result = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (result == 0) result = posix_spawnattr_setsigmask(&attributes, &none);
    if (result == 0) result = posix_spawnattr_setsigdefault(&attributes, &all);
    if (result == 0) result = posix_spawnattr_setpgroup(&attributes, 0);
    if (result == 0) result = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    if (result == 0) {
        char *const argv[] = {"sh", "-c", (char *)script, NULL};
        char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
        result = posix_spawn(pid, "/bin/sh", &actions, &attributes, argv, envp);
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(ends[1]);
    if (result != 0) {
        close(ends[0]);
        errno = result;
        return -1;
    }
    *socket_end = ends[0];
    return 0;
}

long clinux_send_nosignal(int descriptor, const void *bytes, unsigned long count) {
    return send(descriptor, bytes, count, MSG_NOSIGNAL);
}

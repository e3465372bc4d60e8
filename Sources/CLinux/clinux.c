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
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <unistd.h>

#include "clinux.h"

int clinux_pipe2(int descriptors[2], int flags) {
    return pipe2(descriptors, flags);
}

int clinux_memfd_create(const char *name) {
    return memfd_create(name, MFD_CLOEXEC);
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

// _GNU_SOURCE before any glibc header: it is what declares these calls.
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
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

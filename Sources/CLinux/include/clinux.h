// The Linux and glibc calls kiln needs that Swift's Glibc module leaves out:
// glibc declares them only under _GNU_SOURCE (or as macros Swift cannot
// import). clinux.c defines _GNU_SOURCE before including glibc's headers,
// so the real declarations are checked by the compiler and linked normally;
// nothing is looked up at run time.
#ifndef CSYSTEM_H
#define CSYSTEM_H

#include <spawn.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>

/// pipe2(2): both ends created with `flags` (O_CLOEXEC) in one step.
int clinux_pipe2(int descriptors[2], int flags);

/// memfd_create(2) with MFD_CLOEXEC: an anonymous file in memory.
int clinux_memfd_create(const char *name);

/// mallopt(M_MMAP_THRESHOLD, bytes): allocations of at least `bytes` are
/// mapped and unmapped on their own, and glibc no longer raises the
/// threshold as large blocks are freed. Returns 1 on success.
int clinux_fix_mmap_threshold(int bytes);

/// pidfd_open(2): a descriptor that polls readable once `pid` has exited.
/// -1 with errno ENOSYS on kernels older than 5.3.
int clinux_pidfd_open(pid_t pid);

/// posix_spawn_file_actions_addchdir_np (glibc 2.29).
int clinux_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34).
int clinux_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest);

/// sync_file_range(2) with SYNC_FILE_RANGE_WRITE: start writeback, do not wait.
int clinux_start_writeback(int descriptor, int64_t offset, int64_t count);

/// renameat2(2) with RENAME_EXCHANGE: swaps two paths atomically.
/// -1 with errno EINVAL, ENOSYS or ENOTSUP where the kernel or file system
/// cannot.
int clinux_rename_exchange(int first_directory, const char *first, int second_directory, const char *second);

/// Sends every SIGINT, SIGTERM and SIGHUP kiln receives, as one byte (the
/// signal number), to `write_end` — a pipe a thread reads — from a handler
/// that does nothing else (only async-signal-safe calls). Handlers do not
/// survive exec, so children start with the default actions. 0 or -1.
int clinux_forward_interrupts(int write_end);

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants (a build command's
/// `setsid` children) are reparented to this process instead of init.
int clinux_become_subreaper(void);

/// Starts `/bin/sh -c script` in a process group of its own, its standard
/// input one end of a new `AF_UNIX` stream socket pair, its output
/// /dev/null and no other descriptor. Sets `*socket_end` to the other end
/// (close-on-exec) and `*pid`. Returns 0, or -1 with errno set.
int clinux_start_keeper(const char *script, int *socket_end, pid_t *pid);

/// `send(descriptor, bytes, count, MSG_NOSIGNAL)`: a peer that is gone is
/// EPIPE, never a SIGPIPE.
long clinux_send_nosignal(int descriptor, const void *bytes, unsigned long count);

/// openat2(2) with `how.flags = flags`, `how.resolve = resolve` (the
/// RESOLVE_* bits, for resolving a path beneath a directory descriptor
/// without leaving it). -1 with errno ENOSYS on kernels older than 5.6.
int clinux_openat2(int directory, const char *path, uint64_t flags, uint64_t resolve);

/// The RESOLVE_* bits of <linux/openat2.h>, which Swift cannot import.
static const uint64_t clinux_resolve_beneath = 0x08;
static const uint64_t clinux_resolve_no_symlinks = 0x04;
static const uint64_t clinux_resolve_no_magiclinks = 0x02;
static const uint64_t clinux_resolve_no_xdev = 0x01;

/// ioctl(destination, FICLONE, source): makes `destination` share
/// `source`'s extents copy-on-write (btrfs, XFS with reflink, bcachefs).
/// -1 with errno EOPNOTSUPP, EXDEV, EINVAL or ENOTTY where it cannot.
int clinux_clone_file(int destination, int source);

// The wait-status macros of <sys/wait.h>, which Swift cannot import.
static inline int clinux_wifexited(int status) { return WIFEXITED(status); }
static inline int clinux_wexitstatus(int status) { return WEXITSTATUS(status); }
static inline int clinux_wifsignaled(int status) { return WIFSIGNALED(status); }
static inline int clinux_wtermsig(int status) { return WTERMSIG(status); }

#endif

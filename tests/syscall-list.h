/* SPDX-License-Identifier: MIT */
/*
 * The calls tests/syscall-faults.c can fail: the one list of them.  It makes
 * that program's enum of calls, their names and the declarations of their
 * __wrap_ and __real_ functions, and (Makefile.am, through the
 * preprocessor) the linker's --wrap flags, so the two cannot drift.
 *
 *   SF_CALL(ID, name, return type, (parameters))
 *   SF_CALL64(ID, name, name64, return type, (parameters), (name64's))
 *
 * SF_CALL64 is a large-file function: with _FILE_OFFSET_BITS=64 a 32-bit
 * glibc build calls name64, so both are wrapped, and both wrappers count
 * as the call ID.  The includer defines both macros (and sf_off_t,
 * sf_off64_t); no include guard, as it is read once per use.
 */
SF_CALL(SHM_OPEN, shm_open, int, (const char *name, int oflag, mode_t mode))
SF_CALL(SHM_UNLINK, shm_unlink, int, (const char *name))
SF_CALL(UNLINK, unlink, int, (const char *path))
SF_CALL64(FSTAT, fstat, fstat64, int, (int fd, void *st), (int fd, void *st))
SF_CALL64(OPEN, open, open64, int, (const char *path, int flags, ...),
          (const char *path, int flags, ...))
SF_CALL(LINKAT, linkat, int, (int olddir, const char *oldpath, int newdir,
                              const char *newpath, int flags))
SF_CALL64(LSTAT, lstat, lstat64, int, (const char *path, void *st),
          (const char *path, void *st))
SF_CALL(ACCESS, access, int, (const char *path, int how))
SF_CALL(FCHMOD, fchmod, int, (int fd, mode_t mode))
SF_CALL64(MMAP, mmap, mmap64, void *,
          (void *addr, size_t len, int prot, int flags, int fd, sf_off_t off),
          (void *addr, size_t len, int prot, int flags, int fd, sf_off64_t off))
SF_CALL(MUNMAP, munmap, int, (void *addr, size_t len))
SF_CALL(MADVISE, madvise, int, (void *addr, size_t len, int advice))
SF_CALL64(FALLOCATE, posix_fallocate, posix_fallocate64, int,
          (int fd, sf_off_t off, sf_off_t len),
          (int fd, sf_off64_t off, sf_off64_t len))
SF_CALL64(FTRUNCATE, ftruncate, ftruncate64, int, (int fd, sf_off_t len),
          (int fd, sf_off64_t len))
SF_CALL64(PWRITE, pwrite, pwrite64, ssize_t,
          (int fd, const void *buf, size_t n, sf_off_t off),
          (int fd, const void *buf, size_t n, sf_off64_t off))
SF_CALL64(STATVFS, statvfs, statvfs64, int, (const char *path, void *buf),
          (const char *path, void *buf))
SF_CALL64(FSTATVFS, fstatvfs, fstatvfs64, int, (int fd, void *buf),
          (int fd, void *buf))
SF_CALL(CLOSE, close, int, (int fd))
SF_CALL(SYSCONF, sysconf, long, (int name))
SF_CALL64(GETRLIMIT, getrlimit, getrlimit64, int, (int resource, void *rl),
          (int resource, void *rl))
SF_CALL64(FOPEN, fopen, fopen64, FILE *, (const char *path, const char *mode),
          (const char *path, const char *mode))
SF_CALL(MALLOC, malloc, void *, (size_t size))
SF_CALL(GETEUID, geteuid, uid_t, (void))
SF_CALL(SHMGET, shmget, int, (key_t key, size_t size, int flags))
SF_CALL(SHMAT, shmat, void *, (int id, const void *addr, int flags))
SF_CALL(SHMDT, shmdt, int, (const void *addr))
SF_CALL(SHMCTL, shmctl, int, (int id, int cmd, void *buf))

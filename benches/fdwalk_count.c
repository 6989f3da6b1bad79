/* The floor for naming socket owners: list /proc, list each /proc/PID/fd, readlink every fd
 * exactly once and count the "socket:[INODE]" links. Nothing else: no stat, no status or
 * cmdline reads, no map from inode to pid. benches/bench.py builds and times it next to the
 * sock_diag dump floor (sockdiag_count.c); the two together are the least any tool that names
 * the processes holding sockets has to do.
 * cc -O2 -o target/fdwalk_count benches/fdwalk_count.c
 * Usage: fdwalk_count [PROC_ROOT]   (default /proc)
 *
 * A process whose fd directory or fd links cannot be read (another user's, without
 * CAP_SYS_PTRACE; or one a security policy shields even from root) counts as unreadable, one
 * that exits mid-walk as vanished; neither stops the walk. Links are read relative to the fd
 * directory's descriptor (readlinkat), which saves the kernel a path walk per fd. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* getdents64 straight into a buffer: opendir/readdir would add an fstat and an fcntl per
 * directory. */
static char procbuf[65536] __attribute__((aligned(8)));
static char fdbuf[65536] __attribute__((aligned(8)));

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : "/proc";
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        perror(root);
        return 1;
    }
    long processes = 0, unreadable = 0, vanished = 0, fds = 0, sockets = 0, fds_unreadable = 0;
    ssize_t len;
    while ((len = getdents64(rootfd, procbuf, sizeof procbuf)) > 0) {
        for (ssize_t pos = 0; pos < len;) {
            struct dirent64 *p = (struct dirent64 *)(procbuf + pos);
            pos += p->d_reclen;
            const char *name = p->d_name, *c = name;
            if (*name < '1' || *name > '9') continue;
            while (*c >= '0' && *c <= '9') c++;
            if (*c || c - name > 20) continue;
            processes++;

            char path[32];
            memcpy(path, name, c - name);
            memcpy(path + (c - name), "/fd", 4);
            int dirfd_ = openat(rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dirfd_ < 0) {
                if (errno == ENOENT || errno == ESRCH) vanished++;
                else unreadable++;
                continue;
            }
            int denied = 0;
            ssize_t n;
            while ((n = getdents64(dirfd_, fdbuf, sizeof fdbuf)) > 0) {
                for (ssize_t at = 0; at < n;) {
                    struct dirent64 *f = (struct dirent64 *)(fdbuf + at);
                    at += f->d_reclen;
                    if (f->d_name[0] == '.') continue;
                    fds++;
                    char link[64];
                    ssize_t k = readlinkat(dirfd_, f->d_name, link, sizeof link);
                    if (k < 0) {
                        fds_unreadable++;
                        if (errno == EACCES || errno == EPERM) denied = 1;
                        continue;
                    }
                    if (k >= 8 && memcmp(link, "socket:[", 8) == 0) sockets++;
                }
            }
            /* Listing fails with EACCES on a shielded process, ENOENT once one has exited. */
            if (n < 0) {
                if (errno == EACCES || errno == EPERM) denied = 1;
                else vanished++;
            }
            if (denied) unreadable++;
            close(dirfd_);
        }
    }
    if (len < 0) {
        perror(root);
        return 1;
    }
    close(rootfd);
    printf("processes %ld\nunreadable %ld\nvanished %ld\nfds %ld\nfds_unreadable %ld\n"
           "sockets %ld\n",
           processes, unreadable, vanished, fds, fds_unreadable, sockets);
    return 0;
}

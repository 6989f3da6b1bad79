/* The floor for sweeping every network namespace: find each distinct namespace once, enter it,
 * make one NETLINK_SOCK_DIAG dump of TCP per family (the request of sockdiag_count.c) and
 * count by state. benches/bench.py --netns-sweep builds and times it next to
 * sockscope --all-netns.
 * cc -O2 -o target/netns_sweep_count benches/netns_sweep_count.c
 * Usage: netns_sweep_count [-q]   (-q: grand totals only, no line per namespace)
 *
 * Namespaces come from /proc/PID/ns/net of every process and from the bind mounts in
 * /run/netns and /run/docker/netns, deduplicated by the (st_dev, st_ino) that stat() sees
 * through the link. Each is entered with setns(CLONE_NEWNET) on the main thread: a netlink
 * socket keeps the namespace it was created in, so the thread hops from namespace to namespace
 * and returns to its own once, at the end. A process whose ns link cannot be read (another
 * user's without CAP_SYS_PTRACE, or one a security policy shields even from root) counts as
 * unreadable; a namespace that cannot be opened or entered (its last process gone, no
 * CAP_SYS_ADMIN) or whose dump fails counts as unopenable; neither stops the sweep. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *state_names[16] = {
    "UNKNOWN",   "ESTABLISHED", "SYN_SENT", "SYN_RECV",   "FIN_WAIT1", "FIN_WAIT2",
    "TIME_WAIT", "CLOSE",       "CLOSE_WAIT", "LAST_ACK", "LISTEN",    "CLOSING",
    "NEW_SYN_RECV", "13", "14", "15"};

struct ns {
    dev_t dev;
    ino_t ino;
    char *path;
};

static struct ns *nses;
static size_t n_ns, cap_ns;
static size_t *table; /* open addressing: index + 1 into nses, 0 = empty */
static size_t table_size;

static size_t slot(dev_t dev, ino_t ino) {
    uint64_t h = ((uint64_t)ino ^ ((uint64_t)dev << 32)) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 17) & (table_size - 1);
}

static void grow(void) {
    free(table);
    table_size = table_size ? table_size * 2 : 256;
    table = calloc(table_size, sizeof *table);
    if (!table) exit(2);
    for (size_t i = 0; i < n_ns; i++) {
        size_t s = slot(nses[i].dev, nses[i].ino);
        while (table[s]) s = (s + 1) & (table_size - 1);
        table[s] = i + 1;
    }
}

/* Records the namespace behind `path` (already stat()ed) unless it is known. */
static void add(const struct stat *st, const char *path) {
    if (2 * (n_ns + 1) > table_size) grow();
    size_t s = slot(st->st_dev, st->st_ino);
    for (; table[s]; s = (s + 1) & (table_size - 1)) {
        struct ns *k = &nses[table[s] - 1];
        if (k->ino == st->st_ino && k->dev == st->st_dev) return;
    }
    if (n_ns == cap_ns) {
        cap_ns = cap_ns ? cap_ns * 2 : 64;
        nses = realloc(nses, cap_ns * sizeof *nses);
        if (!nses) exit(2);
    }
    nses[n_ns] = (struct ns){st->st_dev, st->st_ino, strdup(path)};
    table[s] = ++n_ns;
}

static long pids, pids_unreadable, pids_vanished;

static void from_proc(void) {
    int rootfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = rootfd < 0 ? NULL : fdopendir(rootfd);
    if (!d) {
        perror("/proc");
        exit(1);
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *name = e->d_name, *c = name;
        if (*name < '1' || *name > '9') continue;
        while (*c >= '0' && *c <= '9') c++;
        if (*c || c - name > 20) continue;
        pids++;
        char rel[40], path[48];
        memcpy(rel, name, c - name);
        memcpy(rel + (c - name), "/ns/net", 8);
        struct stat st;
        if (fstatat(rootfd, rel, &st, 0) < 0) {
            if (errno == ENOENT || errno == ESRCH) pids_vanished++;
            else pids_unreadable++;
            continue;
        }
        memcpy(path, "/proc/", 6);
        memcpy(path + 6, rel, strlen(rel) + 1);
        add(&st, path);
    }
    closedir(d);
}

static void from_mounts(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        /* An unmounted placeholder is a plain file on tmpfs, not a namespace: setns refuses it. */
        if (stat(path, &st) == 0) add(&st, path);
    }
    closedir(d);
}

/* 0, or -1 when the dump fails. A family whose diag module is missing (ENOENT) is empty. */
static int dump(int fd, int family, long *counts) {
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg;
    memset(&msg, 0, sizeof msg);
    msg.nlh.nlmsg_len = sizeof msg;
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.req.sdiag_family = family;
    msg.req.sdiag_protocol = IPPROTO_TCP;
    msg.req.idiag_states = 0xfff;
    if (send(fd, &msg, sizeof msg, 0) < 0) return -1;
    static char buf[65536];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return -1;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE) return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *err = NLMSG_DATA(h);
                return err->error == -ENOENT ? 0 : -1;
            }
            struct inet_diag_msg *m = NLMSG_DATA(h);
            counts[m->idiag_state & 15]++;
        }
    }
}

int main(int argc, char **argv) {
    int quiet = argc > 1 && strcmp(argv[1], "-q") == 0;
    int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) {
        perror("/proc/self/ns/net");
        return 1;
    }
    from_proc();
    from_mounts("/run/netns");
    from_mounts("/run/docker/netns");

    long total[16] = {0}, unopenable = 0, swept = 0;
    for (size_t i = 0; i < n_ns; i++) {
        long counts[16] = {0};
        int nsfd = open(nses[i].path, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
            if (!quiet) printf("netns %lu %s unopenable: %s\n", (unsigned long)nses[i].ino,
                               nses[i].path, strerror(errno));
            if (nsfd >= 0) close(nsfd);
            unopenable++;
            continue;
        }
        close(nsfd);
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        int ok = fd >= 0 && dump(fd, AF_INET, counts) == 0 && dump(fd, AF_INET6, counts) == 0;
        if (fd >= 0) close(fd);
        if (!ok) {
            if (!quiet) printf("netns %lu %s dump failed\n", (unsigned long)nses[i].ino,
                               nses[i].path);
            unopenable++;
            continue;
        }
        swept++;
        long sum = 0;
        for (int s = 0; s < 16; s++) {
            sum += counts[s];
            total[s] += counts[s];
        }
        if (!quiet) {
            printf("netns %lu %s total %ld", (unsigned long)nses[i].ino, nses[i].path, sum);
            for (int s = 0; s < 16; s++)
                if (counts[s]) printf(" %s=%ld", state_names[s], counts[s]);
            putchar('\n');
        }
    }
    if (setns(home, CLONE_NEWNET) < 0) {
        perror("setns back");
        return 1;
    }
    close(home);

    long sum = 0;
    for (int s = 0; s < 16; s++) sum += total[s];
    printf("namespaces %zu swept %ld unopenable %ld pids %ld pids_unreadable %ld "
           "pids_vanished %ld\n",
           n_ns, swept, unopenable, pids, pids_unreadable, pids_vanished);
    for (int s = 0; s < 16; s++)
        if (total[s]) printf("%s %ld\n", state_names[s], total[s]);
    printf("total %ld\n", sum);
    return 0;
}

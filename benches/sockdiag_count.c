/* The floor for counting TCP states: one SOCK_DIAG_BY_FAMILY dump per family, count by state,
 * print nothing but the totals. benches/bench.py builds and times it next to sockscope.
 * cc -O2 -o target/sockdiag_count benches/sockdiag_count.c */
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static long counts[16];

static int dump(int fd, int family) {
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
            if (h->nlmsg_type == NLMSG_ERROR) return -1;
            struct inet_diag_msg *m = NLMSG_DATA(h);
            counts[m->idiag_state & 15]++;
        }
    }
}

int main(void) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0 || dump(fd, AF_INET) < 0 || dump(fd, AF_INET6) < 0) return 1;
    for (int i = 0; i < 16; i++)
        if (counts[i]) printf("%d %ld\n", i, counts[i]);
    close(fd);
    return 0;
}

/* Loopback churn at a steady rate, for benches/flows_bench.py: listens on 127.0.0.1:PORT in
 * the current network namespace and, for SECONDS, opens and closes RATE connections a second
 * to it (accepting each, client closing first), paced in 1 ms steps to an absolute schedule so
 * a late step catches up. Prints how many connections it made and how many connects failed.
 *
 *   cc -O2 -o churn benches/churn.c && ip netns exec NS ./churn PORT RATE SECONDS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: churn PORT RATE SECONDS\n");
        return 2;
    }
    int port = atoi(argv[1]);
    double rate = atof(argv[2]), seconds = atof(argv[3]);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (struct sockaddr *)&addr, sizeof addr) || listen(l, 4096)) {
        perror("listen");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    long made = 0, failed = 0;
    double start = now();
    for (;;) {
        double elapsed = now() - start;
        if (elapsed >= seconds)
            break;
        long due = (long)(elapsed * rate);
        while (made + failed < due) {
            int c = socket(AF_INET, SOCK_STREAM, 0);
            if (c < 0 || connect(c, (struct sockaddr *)&addr, sizeof addr)) {
                failed++;
                if (c >= 0)
                    close(c);
                continue;
            }
            int a = accept(l, NULL, NULL);
            close(c);
            if (a >= 0)
                close(a);
            made++;
        }
        struct timespec step = {0, 1000000};
        nanosleep(&step, NULL);
    }
    printf("%ld %ld %.3f\n", made, failed, now() - start);
    close(l);
    return 0;
}

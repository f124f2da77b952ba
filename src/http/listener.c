/* The listening socket and the open-file limit (listener.h). */
#include "http/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTEN_BACKLOG 1024

int sd_listen_open(const char *bind_addr, unsigned port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    memset(&ss, 0, sizeof ss);
    bool v6 = strchr(bind_addr, ':') != NULL;
    if (v6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        sslen = sizeof *a6;
        if (inet_pton(AF_INET6, bind_addr, &a6->sin6_addr) != 1) {
            snprintf(err, errlen, "bind: not an IPv6 address: %s", bind_addr);
            return -1;
        }
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        sslen = sizeof *a4;
        if (inet_pton(AF_INET, bind_addr, &a4->sin_addr) != 1) {
            snprintf(err, errlen, "bind: not an IPv4 address: %s", bind_addr);
            return -1;
        }
    }
    const char *lb = v6 ? "[" : "", *rb = v6 ? "]" : "";
    char buf[128];
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s%s%s:%u: socket: %s", lb, bind_addr, rb,
                 port, strerror_r(errno, buf, sizeof buf));
        return -1;
    }
    int one = 1;
    /* SO_REUSEADDR lets a restart bind while old connections linger in
     * TIME_WAIT; it does not let two listeners share the port. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)) {
        snprintf(err, errlen, "cannot listen on %s%s%s:%u: setsockopt: %s", lb, bind_addr,
                 rb, port, strerror_r(errno, buf, sizeof buf));
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
        int e = errno;
        if (e == EADDRINUSE)
            snprintf(err, errlen, "cannot listen on %s%s%s:%u: the address is already in "
                     "use (another statusd, or another program, listens there)",
                     lb, bind_addr, rb, port);
        else
            snprintf(err, errlen, "cannot listen on %s%s%s:%u: %s", lb, bind_addr, rb, port,
                     strerror_r(e, buf, sizeof buf));
        close(fd);
        return -1;
    }
    if (listen(fd, LISTEN_BACKLOG) != 0) {
        snprintf(err, errlen, "cannot listen on %s%s%s:%u: %s", lb, bind_addr, rb, port,
                 strerror_r(errno, buf, sizeof buf));
        close(fd);
        return -1;
    }
    return fd;
}

int sd_listen_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        /* An unlimited or huge hard limit: a million is plenty, and some
         * kernels refuse more than nr_open. */
        if (want == RLIM_INFINITY || want > 1048576)
            want = 1048576;
        if (want > rl.rlim_cur) {
            struct rlimit nl = {want, rl.rlim_max};
            if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
                rl.rlim_cur = want;
        }
    }
    return rl.rlim_cur > (rlim_t)1 << 30 ? 1 << 30 : (int)rl.rlim_cur;
}

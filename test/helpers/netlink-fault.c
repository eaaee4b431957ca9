// A fault injector for rtnetlink, loaded into the real `routewarden` process
// with LD_PRELOAD by test/helpers/netlink-fault.ts. It wraps libc's sendmsg and
// recvmsg, the two calls the `netlink` package's binding makes, and acts only
// on NETLINK_ROUTE sockets, only while the file named by RW_NETLINK_FAULT
// exists. The file's first word picks the fault:
//
//   drop     every request is swallowed: sendmsg reports it sent and sends
//            nothing, so the kernel never answers (a blocked kernel, as
//            routewarden sees one: a request without a reply).
//   corrupt  the first route message of every dump reply (RTM_NEWROUTE with
//            NLM_F_MULTI) gets an attribute length that runs past the
//            message: a dump the decoder cannot read.
//
// Removing the file ends the fault. Nothing in routewarden knows about this:
// the process runs unmodified, only its view of the kernel is changed, at the
// system-call boundary. Why a preload and not something in the kernel: a
// network namespace's kernel cannot be paused (no userspace way holds
// rtnl_lock; route dumps do not take it), and a healthy kernel never sends a
// malformed message.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum fault { NONE, DROP, CORRUPT };

static enum fault current_fault(void) {
  const char *path = getenv("RW_NETLINK_FAULT");
  if (!path) return NONE;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NONE;
  char word[16] = {0};
  ssize_t n = read(fd, word, sizeof word - 1);
  close(fd);
  if (n <= 0) return NONE;
  if (strncmp(word, "drop", 4) == 0) return DROP;
  if (strncmp(word, "corrupt", 7) == 0) return CORRUPT;
  return NONE;
}

static int is_rtnetlink(int fd) {
  int domain = 0, protocol = -1;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_NETLINK) return 0;
  len = sizeof protocol;
  return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) == 0 && protocol == NETLINK_ROUTE;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  static ssize_t (*real)(int, const struct msghdr *, int);
  if (!real) real = dlsym(RTLD_NEXT, "sendmsg");
  int saved = errno;
  if (is_rtnetlink(fd) && current_fault() == DROP) {
    size_t total = 0;
    for (size_t i = 0; i < msg->msg_iovlen; i++) total += msg->msg_iov[i].iov_len;
    errno = saved;
    return (ssize_t)total;
  }
  errno = saved;
  return real(fd, msg, flags);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  static ssize_t (*real)(int, struct msghdr *, int);
  if (!real) real = dlsym(RTLD_NEXT, "recvmsg");
  ssize_t got = real(fd, msg, flags);
  if (got <= 0 || (flags & MSG_PEEK) || msg->msg_iovlen != 1) return got;
  int saved = errno;
  if (is_rtnetlink(fd) && current_fault() == CORRUPT) {
    size_t len = (size_t)got < msg->msg_iov[0].iov_len ? (size_t)got : msg->msg_iov[0].iov_len;
    char *buf = msg->msg_iov[0].iov_base;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type != RTM_NEWROUTE || !(h->nlmsg_flags & NLM_F_MULTI)) continue;
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)) + sizeof(struct rtattr)) continue;
      struct rtattr *a = (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct rtmsg)));
      a->rta_len = 0xfff0;
      break;
    }
  }
  errno = saved;
  return got;
}

/*
 * An LD_PRELOAD shim that stands in for the kernel's sock_diag where this kernel lacks a module.
 *
 * A NETLINK_SOCK_DIAG socket() becomes one end of an AF_UNIX datagram socketpair. A dump
 * request sent on it is answered with the netlink messages of the file
 * $PYSS_FAKE_DIAG_DIR/<family>-<protocol> or else $PYSS_FAKE_DIAG_DIR/<family> (the request's
 * sdiag_family and sdiag_protocol in decimal; no file: an empty dump),
 * each stamped with the request's sequence number and this process's port id, in datagrams of
 * at most FAKE_CHUNK bytes, then NLMSG_DONE; the request itself is appended to
 * $PYSS_FAKE_DIAG_DIR/requests. bind, getsockname and the SOL_NETLINK options act
 * as on a netlink socket; received datagrams come "from the kernel" (a sockaddr_nl of port 0).
 *
 * Both ss and pyss (Python's _socket calls socket, setsockopt, sendto, recv) then read the same
 * built reply: the tests compare their output byte for byte where no kernel can answer.
 * Written for pyss's tests; it follows the syscalls strace shows ss 6.1 and CPython making.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define FAKE_FDS 4096
#define FAKE_CHUNK 16384
#define SOCK_DIAG 4
#define FAKE_MAX_REPLY (1 << 24)

static int peer_of[FAKE_FDS]; /* fake fd -> the other end of its socketpair, plus one (0: not fake) */

static int is_fake(int fd)
{
	return fd >= 0 && fd < FAKE_FDS && peer_of[fd] > 0;
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, #name))

int socket(int domain, int type, int protocol)
{
	int (*real_socket)(int, int, int) = REAL(socket, int (*)(int, int, int));
	int pair[2];

	if (domain != AF_NETLINK || protocol != SOCK_DIAG)
		return real_socket(domain, type, protocol);
	if (socketpair(AF_UNIX, SOCK_DGRAM | (type & SOCK_CLOEXEC), 0, pair) < 0)
		return -1;
	if (pair[0] >= FAKE_FDS) {
		close(pair[0]);
		close(pair[1]);
		errno = EMFILE;
		return -1;
	}
	peer_of[pair[0]] = pair[1] + 1;
	return pair[0];
}

int close(int fd)
{
	int (*real_close)(int) = REAL(close, int (*)(int));

	if (is_fake(fd)) {
		real_close(peer_of[fd] - 1);
		peer_of[fd] = 0;
	}
	return real_close(fd);
}

int setsockopt(int fd, int level, int name, const void *value, socklen_t length)
{
	int (*real_setsockopt)(int, int, int, const void *, socklen_t) =
		REAL(setsockopt, int (*)(int, int, int, const void *, socklen_t));

	if (is_fake(fd) && level == SOL_NETLINK)
		return 0;
	return real_setsockopt(fd, level, name, value, length);
}

int bind(int fd, const struct sockaddr *address, socklen_t length)
{
	int (*real_bind)(int, const struct sockaddr *, socklen_t) =
		REAL(bind, int (*)(int, const struct sockaddr *, socklen_t));

	if (is_fake(fd))
		return 0;
	return real_bind(fd, address, length);
}

static void kernel_address(void *address, socklen_t *length, uint32_t port)
{
	struct sockaddr_nl local = { .nl_family = AF_NETLINK, .nl_pid = port };

	if (address == NULL || length == NULL)
		return;
	memcpy(address, &local, *length < sizeof(local) ? *length : sizeof(local));
	*length = sizeof(local);
}

int getsockname(int fd, struct sockaddr *address, socklen_t *length)
{
	int (*real_getsockname)(int, struct sockaddr *, socklen_t *) =
		REAL(getsockname, int (*)(int, struct sockaddr *, socklen_t *));

	if (!is_fake(fd))
		return real_getsockname(fd, address, length);
	kernel_address(address, length, (uint32_t)getpid());
	return 0;
}

static char *read_reply(int family, int protocol, size_t *size)
{
	const char *dir = getenv("PYSS_FAKE_DIAG_DIR");
	char path[4096];
	char *data;
	FILE *file;

	*size = 0;
	if (dir == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/%d-%d", dir, family, protocol);
	file = fopen(path, "rb");
	if (file == NULL) {
		snprintf(path, sizeof(path), "%s/%d", dir, family);
		file = fopen(path, "rb");
	}
	if (file == NULL)
		return NULL;
	data = malloc(FAKE_MAX_REPLY);
	if (data != NULL)
		*size = fread(data, 1, FAKE_MAX_REPLY, file);
	fclose(file);
	return data;
}

/* Keep each request in $PYSS_FAKE_DIAG_DIR/requests, so that a test can compare what ss and pyss asked. */
static void note_request(const char *request, size_t length)
{
	const char *dir = getenv("PYSS_FAKE_DIAG_DIR");
	char path[4096];
	FILE *file;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/requests", dir);
	file = fopen(path, "ab");
	if (file == NULL)
		return;
	fwrite(request, 1, length, file);
	fclose(file);
}

static void send_chunk(int peer, const char *data, size_t size)
{
	ssize_t (*real_send)(int, const void *, size_t, int) = REAL(send, ssize_t (*)(int, const void *, size_t, int));

	if (size)
		real_send(peer, data, size, 0);
}

/* Answer one request: the file's messages, restamped, in chunks, then NLMSG_DONE. */
static void answer(int fd, const char *request, size_t length)
{
	struct nlmsghdr header;
	struct {
		struct nlmsghdr header;
		int32_t status;
	} done;
	char chunk[FAKE_CHUNK];
	size_t used = 0, offset = 0, size;
	char *reply;
	int peer = peer_of[fd] - 1;

	if (length < sizeof(header) + 2)
		return;
	memcpy(&header, request, sizeof(header));
	note_request(request, length);
	reply = read_reply((unsigned char)request[sizeof(header)], (unsigned char)request[sizeof(header) + 1], &size);
	while (reply != NULL && size - offset >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr *message = (struct nlmsghdr *)(reply + offset);
		size_t span = NLMSG_ALIGN(message->nlmsg_len);

		if (message->nlmsg_len < sizeof(struct nlmsghdr) || span > size - offset || span > FAKE_CHUNK)
			break;
		message->nlmsg_seq = header.nlmsg_seq;
		message->nlmsg_pid = (uint32_t)getpid();
		if (used + span > FAKE_CHUNK) {
			send_chunk(peer, chunk, used);
			used = 0;
		}
		memcpy(chunk + used, message, span);
		used += span;
		offset += span;
	}
	free(reply);
	memset(&done, 0, sizeof(done));
	done.header.nlmsg_len = sizeof(done);
	done.header.nlmsg_type = NLMSG_DONE;
	done.header.nlmsg_flags = NLM_F_MULTI;
	done.header.nlmsg_seq = header.nlmsg_seq;
	done.header.nlmsg_pid = (uint32_t)getpid();
	if (used + sizeof(done) > FAKE_CHUNK) {
		send_chunk(peer, chunk, used);
		used = 0;
	}
	memcpy(chunk + used, &done, sizeof(done));
	send_chunk(peer, chunk, used + sizeof(done));
}

ssize_t sendto(int fd, const void *buffer, size_t length, int flags, const struct sockaddr *to, socklen_t to_length)
{
	ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t) =
		REAL(sendto, ssize_t (*)(int, const void *, size_t, int, const struct sockaddr *, socklen_t));

	if (!is_fake(fd))
		return real_sendto(fd, buffer, length, flags, to, to_length);
	answer(fd, buffer, length);
	return (ssize_t)length;
}

ssize_t send(int fd, const void *buffer, size_t length, int flags)
{
	return sendto(fd, buffer, length, flags, NULL, 0);
}

ssize_t sendmsg(int fd, const struct msghdr *message, int flags)
{
	ssize_t (*real_sendmsg)(int, const struct msghdr *, int) =
		REAL(sendmsg, ssize_t (*)(int, const struct msghdr *, int));
	char request[65536];
	size_t used = 0;

	if (!is_fake(fd))
		return real_sendmsg(fd, message, flags);
	for (size_t i = 0; i < message->msg_iovlen; i++) {
		size_t part = message->msg_iov[i].iov_len;

		if (part > sizeof(request) - used)
			part = sizeof(request) - used;
		memcpy(request + used, message->msg_iov[i].iov_base, part);
		used += part;
	}
	answer(fd, request, used);
	return (ssize_t)used;
}

ssize_t recvmsg(int fd, struct msghdr *message, int flags)
{
	ssize_t (*real_recvmsg)(int, struct msghdr *, int) = REAL(recvmsg, ssize_t (*)(int, struct msghdr *, int));
	socklen_t room = message->msg_namelen; /* the unnamed peer sets it to 0: fill in what the caller gave */
	ssize_t got = real_recvmsg(fd, message, flags);

	if (got >= 0 && is_fake(fd)) {
		message->msg_namelen = room;
		kernel_address(message->msg_name, &message->msg_namelen, 0);
	}
	return got;
}

ssize_t recvfrom(int fd, void *buffer, size_t length, int flags, struct sockaddr *from, socklen_t *from_length)
{
	ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *) =
		REAL(recvfrom, ssize_t (*)(int, void *, size_t, int, struct sockaddr *, socklen_t *));
	socklen_t room = from_length != NULL ? *from_length : 0;
	ssize_t got = real_recvfrom(fd, buffer, length, flags, from, from_length);

	if (got >= 0 && is_fake(fd) && from_length != NULL) {
		*from_length = room;
		kernel_address(from, from_length, 0);
	}
	return got;
}

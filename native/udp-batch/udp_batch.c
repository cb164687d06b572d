/*
 * udp-batch: batched UDP I/O for the RTP path (optional; src/media/rtp/dgram-udp-io.ts is the reference).
 *
 * One Engine per process owns the media sockets it binds. Receive: every socket is in one epoll set, and one
 * libuv poll handle watches that set, so a loop iteration drains every readable socket with recvmmsg into one
 * shared receive area and calls JavaScript once per batch (not once per datagram). Send: JavaScript writes
 * packets into a shared send area and flushes a batch with one call; consecutive packets on the same socket go
 * out in one sendmmsg. Nothing is allocated per packet on either side.
 *
 * Shared areas (ArrayBuffers given by JavaScript, used in place):
 *   rx data: RX_SLOTS slots of RX_SLOT bytes; rx meta: int32 x RX_STRIDE per datagram:
 *     [id, offset, length (or -errno, -EMSGSIZE when truncated), family (4/6), port, a0, a1, a2, a3, 0]
 *   tx data: any size; tx meta: int32 x TX_STRIDE per packet:
 *     [fd, offset, length, family, port, a0, a1, a2, a3, result (0 or errno, written back)]
 *   Addresses are big-endian words: IPv4 in a0, IPv6 in a0..a3.
 * The receive area is rewritten by the next batch: a datagram is valid only during the callback that gets it.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RX_SLOT 2048
#define RX_STRIDE 10
#define TX_STRIDE 10
#define RECV_VLEN 16
#define SEND_VLEN 64
#define EPOLL_EVENTS 512
#define MAX_ROUNDS 16

typedef struct {
  napi_env env;
  napi_ref self;
  napi_ref on_batch;
  napi_ref rx_data_ref;
  napi_ref rx_meta_ref;
  napi_ref tx_data_ref;
  napi_ref tx_meta_ref;
  napi_async_context async_ctx;
  uint8_t *rx_data;
  int32_t *rx_meta;
  size_t rx_slots;
  uint8_t *tx_data;
  size_t tx_data_len;
  int32_t *tx_meta;
  size_t tx_entries;
  int epfd;
  uv_poll_t *poll;
  int sockets;
  int closed;
  int polling;
  struct mmsghdr rmsgs[RECV_VLEN];
  struct iovec riov[RECV_VLEN];
  struct sockaddr_storage raddr[RECV_VLEN];
  struct mmsghdr smsgs[SEND_VLEN];
  struct iovec siov[SEND_VLEN];
  struct sockaddr_storage saddr[SEND_VLEN];
  struct epoll_event events[EPOLL_EVENTS];
} Engine;

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, "CR_NATIVE_UDP", "N-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

/* [a, b] as a JS array. */
static napi_value make_int_pair(napi_env env, int64_t a, int64_t b) {
  napi_value out;
  if (napi_create_array_with_length(env, 2, &out) != napi_ok) return NULL;
  napi_set_element(env, out, 0, make_int(env, a));
  napi_set_element(env, out, 1, make_int(env, b));
  return out;
}

static Engine *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_error(env, "CR_NATIVE_UDP", "not an engine");
    return NULL;
  }
  Engine *e = (Engine *)data;
  if (e->closed) {
    napi_throw_error(env, "CR_NATIVE_UDP", "engine closed");
    return NULL;
  }
  return e;
}

static int get_i32(napi_env env, napi_value v, int32_t *out) { return napi_get_value_int32(env, v, out) == napi_ok; }

/* The engine of a call whose one argument is a socket fd; NULL (with a JS exception) otherwise. */
static Engine *unwrap_fd(napi_env env, napi_callback_info info, int32_t *fd, const char *usage) {
  size_t argc = 1;
  napi_value argv[1];
  Engine *e = unwrap(env, info, &argc, argv);
  if (e == NULL) return NULL;
  if (argc < 1 || !get_i32(env, argv[0], fd)) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  return e;
}

/* Fill a sockaddr from family/port/address words; returns its length, 0 when the family is unknown. */
static socklen_t to_sockaddr(const int32_t *m, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof(struct sockaddr_in6));
  if (m[0] == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)m[1]);
    a->sin_addr.s_addr = htonl((uint32_t)m[2]);
    return sizeof(*a);
  }
  if (m[0] == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)m[1]);
    for (int i = 0; i < 4; i++) {
      uint32_t w = htonl((uint32_t)m[2 + i]);
      memcpy(&a->sin6_addr.s6_addr[i * 4], &w, 4);
    }
    return sizeof(*a);
  }
  return 0;
}

/* Write family/port/address words of a received datagram's source. */
static void from_sockaddr(const struct sockaddr_storage *ss, int32_t *m) {
  m[0] = m[1] = m[2] = m[3] = m[4] = m[5] = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    m[0] = 4;
    m[1] = ntohs(a->sin_port);
    m[2] = (int32_t)ntohl(a->sin_addr.s_addr);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    m[0] = 6;
    m[1] = ntohs(a->sin6_port);
    for (int i = 0; i < 4; i++) {
      uint32_t w;
      memcpy(&w, &a->sin6_addr.s6_addr[i * 4], 4);
      m[2 + i] = (int32_t)ntohl(w);
    }
  }
}

/* Hand `count` datagrams in the receive area to JavaScript. */
static void deliver(Engine *e, size_t count) {
  napi_env env = e->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, self, argv[1], result;
  if (napi_get_reference_value(env, e->on_batch, &cb) == napi_ok && napi_get_reference_value(env, e->self, &self) == napi_ok) {
    argv[0] = make_int(env, (int64_t)count);
    napi_status st = napi_make_callback(env, e->async_ctx, self, cb, 1, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  Engine *e = (Engine *)handle->data;
  if (e == NULL || e->closed || status < 0) return;
  size_t count = 0;
  for (int round = 0; round < MAX_ROUNDS && !e->closed; round++) {
    int n = epoll_wait(e->epfd, e->events, EPOLL_EVENTS, 0);
    if (n <= 0) break;
    for (int i = 0; i < n && !e->closed; i++) {
      int fd = (int)(e->events[i].data.u64 & 0xffffffffu);
      int32_t id = (int32_t)(e->events[i].data.u64 >> 32);
      if (count + RECV_VLEN > e->rx_slots) {
        /* The area is full: hand it over, then ask epoll again (the callback may have closed or opened sockets,
         * so the events left in this round may name file descriptors that are gone or reused). */
        deliver(e, count);
        count = 0;
        break;
      }
      for (int j = 0; j < RECV_VLEN; j++) {
        e->riov[j].iov_base = e->rx_data + (count + j) * RX_SLOT;
        e->riov[j].iov_len = RX_SLOT;
        memset(&e->rmsgs[j].msg_hdr, 0, sizeof(struct msghdr));
        e->rmsgs[j].msg_hdr.msg_iov = &e->riov[j];
        e->rmsgs[j].msg_hdr.msg_iovlen = 1;
        e->rmsgs[j].msg_hdr.msg_name = &e->raddr[j];
        e->rmsgs[j].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
      }
      int r = recvmmsg(fd, e->rmsgs, RECV_VLEN, MSG_DONTWAIT, NULL);
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        int32_t *m = e->rx_meta + count * RX_STRIDE;
        m[0] = id;
        m[1] = (int32_t)(count * RX_SLOT);
        m[2] = -errno;
        memset(m + 3, 0, 7 * sizeof(int32_t));
        count++;
        continue;
      }
      for (int j = 0; j < r; j++) {
        int32_t *m = e->rx_meta + count * RX_STRIDE;
        m[0] = id;
        m[1] = (int32_t)(count * RX_SLOT);
        m[2] = (e->rmsgs[j].msg_hdr.msg_flags & MSG_TRUNC) ? -EMSGSIZE : (int32_t)e->rmsgs[j].msg_len;
        from_sockaddr(&e->raddr[j], m + 3);
        m[9] = 0;
        count++;
      }
    }
  }
  if (count > 0 && !e->closed) deliver(e, count);
}

static void update_poll(Engine *e) {
  if (e->closed || e->poll == NULL) return;
  if (e->sockets > 0 && !e->polling) {
    uv_poll_start(e->poll, UV_READABLE, on_readable);
    e->polling = 1;
  } else if (e->sockets == 0 && e->polling) {
    uv_poll_stop(e->poll);
    e->polling = 0;
  }
}

static void free_poll(uv_handle_t *h) { free(h); }

static void engine_teardown(Engine *e) {
  if (e->closed) return;
  e->closed = 1;
  if (e->poll != NULL) {
    uv_poll_stop(e->poll);
    e->poll->data = NULL;
    uv_close((uv_handle_t *)e->poll, free_poll);
    e->poll = NULL;
  }
  if (e->epfd >= 0) close(e->epfd);
  e->epfd = -1;
}

static void engine_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  Engine *e = (Engine *)data;
  engine_teardown(e);
  if (e->async_ctx != NULL) napi_async_destroy(env, e->async_ctx);
  napi_ref refs[] = {e->on_batch, e->rx_data_ref, e->rx_meta_ref, e->tx_data_ref, e->tx_meta_ref};
  for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
    if (refs[i] != NULL) napi_delete_reference(env, refs[i]);
  free(e);
}

static int buffer_of(napi_env env, napi_value v, void **data, size_t *len) {
  bool is_ab = false;
  napi_is_arraybuffer(env, v, &is_ab);
  if (!is_ab) return 0;
  return napi_get_arraybuffer_info(env, v, data, len) == napi_ok;
}

/* new Engine(onBatch, rxData, rxMeta, txData, txMeta): ArrayBuffers used in place for the engine's life. */
static napi_value engine_new(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  napi_valuetype t;
  if (argc < 5 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "Engine(onBatch, rxData, rxMeta, txData, txMeta)");
    return NULL;
  }
  void *rx_data, *rx_meta, *tx_data, *tx_meta;
  size_t rx_data_len, rx_meta_len, tx_data_len, tx_meta_len;
  if (!buffer_of(env, argv[1], &rx_data, &rx_data_len) || !buffer_of(env, argv[2], &rx_meta, &rx_meta_len) ||
      !buffer_of(env, argv[3], &tx_data, &tx_data_len) || !buffer_of(env, argv[4], &tx_meta, &tx_meta_len)) {
    napi_throw_type_error(env, NULL, "the shared areas must be ArrayBuffers");
    return NULL;
  }
  size_t slots = rx_data_len / RX_SLOT;
  if (rx_meta_len / (RX_STRIDE * 4) < slots) slots = rx_meta_len / (RX_STRIDE * 4);
  if (slots < RECV_VLEN) {
    napi_throw_range_error(env, NULL, "receive area too small");
    return NULL;
  }
  Engine *e = (Engine *)calloc(1, sizeof(Engine));
  if (e == NULL) {
    napi_throw_error(env, "CR_NATIVE_UDP", "out of memory");
    return NULL;
  }
  e->env = env;
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  e->rx_data = rx_data;
  e->rx_meta = rx_meta;
  e->rx_slots = slots;
  e->tx_data = tx_data;
  e->tx_data_len = tx_data_len;
  e->tx_meta = tx_meta;
  e->tx_entries = tx_meta_len / (TX_STRIDE * 4);
  uv_loop_t *loop = NULL;
  if (e->epfd < 0 || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    if (e->epfd >= 0) close(e->epfd);
    free(e);
    napi_throw_error(env, "CR_NATIVE_UDP", "cannot create the epoll set");
    return NULL;
  }
  e->poll = (uv_poll_t *)calloc(1, sizeof(uv_poll_t));
  if (e->poll == NULL || uv_poll_init(loop, e->poll, e->epfd) != 0) {
    free(e->poll);
    close(e->epfd);
    free(e);
    napi_throw_error(env, "CR_NATIVE_UDP", "cannot watch the epoll set");
    return NULL;
  }
  e->poll->data = e;
  napi_value name;
  napi_create_string_utf8(env, "callroom.udpBatch", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, self, name, &e->async_ctx);
  napi_create_reference(env, argv[0], 1, &e->on_batch);
  napi_create_reference(env, argv[1], 1, &e->rx_data_ref);
  napi_create_reference(env, argv[2], 1, &e->rx_meta_ref);
  napi_create_reference(env, argv[3], 1, &e->tx_data_ref);
  napi_create_reference(env, argv[4], 1, &e->tx_meta_ref);
  if (napi_wrap(env, self, e, engine_finalize, NULL, &e->self) != napi_ok) {
    napi_throw_error(env, "CR_NATIVE_UDP", "cannot wrap the engine");
    return NULL;
  }
  return self;
}

/* bind(family, address, port, rcvbuf, sndbuf, id) -> [fd, port] or a negative errno. */
static napi_value engine_bind(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  Engine *e = unwrap(env, info, &argc, argv);
  if (e == NULL) return NULL;
  int32_t family, port, rcvbuf, sndbuf, id;
  char addr[64];
  size_t alen = 0;
  if (argc < 6 || !get_i32(env, argv[0], &family) || !get_i32(env, argv[2], &port) || !get_i32(env, argv[3], &rcvbuf) ||
      !get_i32(env, argv[4], &sndbuf) || !get_i32(env, argv[5], &id) ||
      napi_get_value_string_utf8(env, argv[1], addr, sizeof(addr), &alen) != napi_ok) {
    napi_throw_type_error(env, NULL, "bind(family, address, port, rcvbuf, sndbuf, id)");
    return NULL;
  }
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  socklen_t sl;
  if (family == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1) return make_int(env, -EINVAL);
    sl = sizeof(*a);
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &a->sin_addr) != 1) return make_int(env, -EINVAL);
    sl = sizeof(*a);
  }
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_int(env, -errno);
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (sndbuf > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
    int err = errno;
    close(fd);
    return make_int(env, -err);
  }
  struct sockaddr_storage bound;
  socklen_t bl = sizeof(bound);
  if (getsockname(fd, (struct sockaddr *)&bound, &bl) != 0) {
    int err = errno;
    close(fd);
    return make_int(env, -err);
  }
  int bport = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  struct epoll_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.events = EPOLLIN;
  ev.data.u64 = ((uint64_t)(uint32_t)id << 32) | (uint32_t)fd;
  if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    int err = errno;
    close(fd);
    return make_int(env, -err);
  }
  e->sockets++;
  update_poll(e);
  return make_int_pair(env, fd, bport);
}

/* bufferSizes(fd) -> [SO_RCVBUF, SO_SNDBUF] as the kernel reports them. */
static napi_value engine_buffer_sizes(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (unwrap_fd(env, info, &fd, "bufferSizes(fd)") == NULL) return NULL;
  int r = 0, s = 0;
  socklen_t l = sizeof(int);
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &r, &l);
  l = sizeof(int);
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s, &l);
  return make_int_pair(env, r, s);
}

/* closeSocket(fd): leaves the epoll set and closes. */
static napi_value engine_close_socket(napi_env env, napi_callback_info info) {
  int32_t fd;
  Engine *e = unwrap_fd(env, info, &fd, "closeSocket(fd)");
  if (e == NULL) return NULL;
  epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
  int r = close(fd);
  if (r == 0 && e->sockets > 0) e->sockets--;
  update_poll(e);
  return make_int(env, r == 0 ? 0 : -errno);
}

/*
 * flush(count): send the first `count` packets of the send area. Consecutive packets on one socket go out in one
 * sendmmsg. Each entry's result slot gets 0 or the errno of its failure; returns the number that failed.
 */
static napi_value engine_flush(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Engine *e = unwrap(env, info, &argc, argv);
  if (e == NULL) return NULL;
  int32_t count;
  if (argc < 1 || !get_i32(env, argv[0], &count) || count < 0 || (size_t)count > e->tx_entries) {
    napi_throw_range_error(env, NULL, "flush(count): count out of range");
    return NULL;
  }
  int failed = 0;
  int i = 0;
  while (i < count) {
    int32_t *first = e->tx_meta + (size_t)i * TX_STRIDE;
    int fd = first[0];
    int k = 0;
    while (i + k < count && k < SEND_VLEN) {
      int32_t *m = e->tx_meta + (size_t)(i + k) * TX_STRIDE;
      if (m[0] != fd) break;
      uint32_t off = (uint32_t)m[1], len = (uint32_t)m[2];
      if ((size_t)off + len > e->tx_data_len) break;
      socklen_t sl = to_sockaddr(m + 3, &e->saddr[k]);
      if (sl == 0) break;
      e->siov[k].iov_base = e->tx_data + off;
      e->siov[k].iov_len = len;
      memset(&e->smsgs[k].msg_hdr, 0, sizeof(struct msghdr));
      e->smsgs[k].msg_hdr.msg_iov = &e->siov[k];
      e->smsgs[k].msg_hdr.msg_iovlen = 1;
      e->smsgs[k].msg_hdr.msg_name = &e->saddr[k];
      e->smsgs[k].msg_hdr.msg_namelen = sl;
      k++;
    }
    if (k == 0) {
      /* an entry that cannot be sent as written (bad range or family) */
      first[9] = EINVAL;
      failed++;
      i++;
      continue;
    }
    int sent = 0;
    while (sent < k) {
      int r = sendmmsg(fd, e->smsgs + sent, (unsigned)(k - sent), MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EINTR) continue;
        /* the first unsent packet failed: record it and go on with the rest */
        e->tx_meta[(size_t)(i + sent) * TX_STRIDE + 9] = errno;
        failed++;
        sent++;
        continue;
      }
      for (int j = 0; j < r; j++) e->tx_meta[(size_t)(i + sent + j) * TX_STRIDE + 9] = 0;
      sent += r;
    }
    i += k;
  }
  return make_int(env, failed);
}

/* ntop(family, a0, a1, a2, a3) -> the address as text (inet_ntop), for a source not seen before. */
static napi_value engine_ntop(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t m[6] = {0, 0, 0, 0, 0, 0};
  if (argc < 2 || !get_i32(env, argv[0], &m[0])) {
    napi_throw_type_error(env, NULL, "ntop(family, a0, a1, a2, a3)");
    return NULL;
  }
  for (size_t i = 1; i < argc && i < 5; i++) get_i32(env, argv[i], &m[i + 1]);
  struct sockaddr_storage ss;
  if (to_sockaddr(m, &ss) == 0) {
    napi_throw_range_error(env, NULL, "family must be 4 or 6");
    return NULL;
  }
  char text[INET6_ADDRSTRLEN];
  const char *r = m[0] == 4 ? inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text, sizeof(text))
                            : inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, text, sizeof(text));
  napi_value out;
  CHECK(napi_create_string_utf8(env, r == NULL ? "" : r, NAPI_AUTO_LENGTH, &out));
  return out;
}

/* pton(address) -> [family, a0, a1, a2, a3] (big-endian words), or null when it is not an IP literal. */
static napi_value engine_pton(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char text[64];
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], text, sizeof(text), &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "pton(address)");
    return NULL;
  }
  int32_t w[5] = {0, 0, 0, 0, 0};
  struct in_addr a4;
  struct in6_addr a6;
  if (len < sizeof(text) - 1 && inet_pton(AF_INET, text, &a4) == 1) {
    w[0] = 4;
    w[1] = (int32_t)ntohl(a4.s_addr);
  } else if (len < sizeof(text) - 1 && inet_pton(AF_INET6, text, &a6) == 1) {
    w[0] = 6;
    for (int i = 0; i < 4; i++) {
      uint32_t x;
      memcpy(&x, &a6.s6_addr[i * 4], 4);
      w[1 + i] = (int32_t)ntohl(x);
    }
  } else {
    napi_value nul;
    napi_get_null(env, &nul);
    return nul;
  }
  napi_value out;
  CHECK(napi_create_array_with_length(env, 5, &out));
  for (uint32_t i = 0; i < 5; i++) napi_set_element(env, out, i, make_int(env, w[i]));
  return out;
}

/* close(): stop watching; sockets still open are the caller's to close first. */
static napi_value engine_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value self;
  void *data = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, NULL, &self, NULL));
  if (napi_unwrap(env, self, &data) == napi_ok && data != NULL) engine_teardown((Engine *)data);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"bind", NULL, engine_bind, NULL, NULL, NULL, napi_default_method, NULL},
      {"closeSocket", NULL, engine_close_socket, NULL, NULL, NULL, napi_default_method, NULL},
      {"bufferSizes", NULL, engine_buffer_sizes, NULL, NULL, NULL, napi_default_method, NULL},
      {"flush", NULL, engine_flush, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, engine_close, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value cls;
  CHECK(napi_define_class(env, "Engine", NAPI_AUTO_LENGTH, engine_new, NULL, sizeof(methods) / sizeof(methods[0]), methods, &cls));
  CHECK(napi_set_named_property(env, exports, "Engine", cls));
  napi_value fn;
  CHECK(napi_create_function(env, "ntop", NAPI_AUTO_LENGTH, engine_ntop, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "ntop", fn));
  CHECK(napi_create_function(env, "pton", NAPI_AUTO_LENGTH, engine_pton, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "pton", fn));
  napi_value consts;
  CHECK(napi_create_object(env, &consts));
  napi_set_named_property(env, consts, "RX_SLOT", make_int(env, RX_SLOT));
  napi_set_named_property(env, consts, "RX_STRIDE", make_int(env, RX_STRIDE));
  napi_set_named_property(env, consts, "TX_STRIDE", make_int(env, TX_STRIDE));
  napi_set_named_property(env, consts, "ABI", make_int(env, 1));
  CHECK(napi_set_named_property(env, exports, "constants", consts));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

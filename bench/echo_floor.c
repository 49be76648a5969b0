/* echo_floor: the floor that bench/bench.py measures asyncoded against.
 *
 * It speaks the daemon's framing (LSP's Content-Length frames of JSON-RPC 2.0 on fds 0 and 1)
 * and does no work at all: every request is answered at once with a response frame of the size
 * and shape that asyncoded sends, carrying the request's own id. What it costs is what "the same
 * frames over the same pipes" costs: process start-up, the pipe round trip, the client's own
 * framing, and nothing else.
 *
 *   initialize   -> a result shaped like the daemon's InitializeResult
 *   exec         -> {"execCount":N,"status":"ok","result":{"text/plain":"2"},"durationMs":0.01,"awaited":false}
 *   anything else with an id (shutdown, ...) -> null
 *   exit (notification), or end of input -> exit 0
 *
 * No JSON library: a small scan finds the top-level "id" and "method" members (tracking strings and
 * nesting, so that an "id" inside params is not taken for the request's). All responses to the
 * frames of one read() go out in one write(), as an event-loop server batches them.
 *
 * `echo_floor --sigint-echo` is the floor of the interrupt benchmark instead: a signal round trip
 * between two processes. It writes "r" to fd 1 once its handler is installed, then sleeps in read(0);
 * each SIGINT makes its handler write one byte ("i") to fd 1. End of input ends it. The client times
 * kill(pid, SIGINT) -> that byte read.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct {
  char* data;
  size_t len;
  size_t cap;
} Buf;

static void buf_reserve(Buf* b, size_t extra) {
  if (b->len + extra <= b->cap) return;
  size_t cap = b->cap ? b->cap : 65536;
  while (cap < b->len + extra) cap *= 2;
  char* p = realloc(b->data, cap);
  if (!p) {
    static const char msg[] = "echo_floor: out of memory\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(2);
  }
  b->data = p;
  b->cap = cap;
}

static void buf_append(Buf* b, const char* s, size_t n) {
  buf_reserve(b, n);
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

static void write_all(const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(errno == EPIPE ? 0 : 1); /* the client went away */
    }
    p += w;
    n -= (size_t)w;
  }
}

/* Skips one JSON string starting at s[i] == '"'; returns the index just past its closing quote. */
static size_t skip_string(const char* s, size_t n, size_t i) {
  for (++i; i < n; ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return n;
}

static size_t skip_ws(const char* s, size_t n, size_t i) {
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
  return i;
}

/* Finds the value of the top-level member `key` of the object in s[0..n). On success stores where
 * the value's text starts and how long it is (a string keeps its quotes) and returns 1. */
static int find_member(const char* s, size_t n, const char* key, const char** value, size_t* value_len) {
  const size_t key_len = strlen(key);
  int depth = 0;
  for (size_t i = 0; i < n;) {
    const char c = s[i];
    if (c == '"') {
      const size_t end = skip_string(s, n, i);
      if (depth == 1 && end - i == key_len + 2 && memcmp(s + i + 1, key, key_len) == 0) {
        size_t j = skip_ws(s, n, end);
        if (j < n && s[j] == ':') {
          j = skip_ws(s, n, j + 1);
          size_t k = j;
          if (k < n && s[k] == '"') {
            k = skip_string(s, n, k);
          } else {
            while (k < n && s[k] != ',' && s[k] != '}' && s[k] != ' ' && s[k] != '\t' && s[k] != '\r' &&
                   s[k] != '\n')
              ++k;
          }
          *value = s + j;
          *value_len = k - j;
          return k > j;
        }
      }
      i = end;
    } else {
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
      ++i;
    }
  }
  return 0;
}

static int is_method(const char* m, size_t m_len, const char* name) {
  const size_t n = strlen(name);
  return m_len == n + 2 && m[0] == '"' && memcmp(m + 1, name, n) == 0 && m[n + 1] == '"';
}

static unsigned long exec_count = 0;

static void respond(Buf* out, const char* id, size_t id_len, const char* result) {
  char head[64];
  char body_start[] = "{\"jsonrpc\":\"2.0\",\"id\":";
  const size_t body_len = (sizeof body_start - 1) + id_len + strlen(",\"result\":") + strlen(result) + 1;
  const int h = snprintf(head, sizeof head, "Content-Length: %zu\r\n\r\n", body_len);
  buf_append(out, head, (size_t)h);
  buf_append(out, body_start, sizeof body_start - 1);
  buf_append(out, id, id_len);
  buf_append(out, ",\"result\":", strlen(",\"result\":"));
  buf_append(out, result, strlen(result));
  buf_append(out, "}", 1);
}

/* Handles one message body; returns 0 when the client said exit. */
static int handle(const char* body, size_t n, Buf* out) {
  const char* id = NULL;
  size_t id_len = 0;
  const char* method = NULL;
  size_t method_len = 0;
  const int has_id = find_member(body, n, "id", &id, &id_len);
  const int has_method = find_member(body, n, "method", &method, &method_len);
  if (!has_id) return !(has_method && is_method(method, method_len, "exit"));
  if (!has_method) return 1; /* a response to nothing we asked */
  if (is_method(method, method_len, "initialize")) {
    respond(out, id, id_len,
            "{\"backends\":[\"asyncio\",\"trio\"],\"protocolVersion\":1,"
            "\"python\":{\"executable\":\"/usr/bin/python3\",\"version\":\"3.11.2\"},"
            "\"serverInfo\":{\"name\":\"echo_floor\",\"version\":\"0.1.0\"}}");
  } else if (is_method(method, method_len, "exec")) {
    char result[160];
    snprintf(result, sizeof result,
             "{\"execCount\":%lu,\"status\":\"ok\",\"result\":{\"text/plain\":\"2\"},\"durationMs\":0.01,"
             "\"awaited\":false}",
             ++exec_count);
    respond(out, id, id_len, result);
  } else {
    respond(out, id, id_len, "null");
  }
  return 1;
}

/* Parses the next frame header in in[0..n): returns the header's length (through the blank line)
 * and stores the body length, 0 when the header is not complete yet. A header without a
 * Content-Length is dropped (body length 0). */
static size_t parse_header(const char* in, size_t n, size_t* body_len) {
  const char* end = NULL;
  for (size_t i = 0; i + 3 < n; ++i) {
    if (in[i] == '\r' && in[i + 1] == '\n' && in[i + 2] == '\r' && in[i + 3] == '\n') {
      end = in + i;
      break;
    }
  }
  if (!end) return 0;
  *body_len = 0;
  static const char name[] = "content-length:";
  for (const char* line = in; line < end;) {
    const char* eol = line;
    while (eol < end && *eol != '\r') ++eol;
    if ((size_t)(eol - line) > sizeof name - 1 && strncasecmp(line, name, sizeof name - 1) == 0)
      *body_len = strtoul(line + sizeof name - 1, NULL, 10);
    line = eol + 2;
  }
  return (size_t)(end - in) + 4;
}

/* Serves until exit or end of input; returns the exit status. */
static int serve(Buf* in, Buf* out) {
  size_t pos = 0; /* start of the unparsed input */
  for (;;) {
    buf_reserve(in, 65536);
    const ssize_t r = read(0, in->data + in->len, in->cap - in->len);
    if (r < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (r == 0) return 0; /* end of input: as shutdown + exit */
    in->len += (size_t)r;

    int go_on = 1;
    for (;;) {
      size_t body_len = 0;
      const size_t header_len = parse_header(in->data + pos, in->len - pos, &body_len);
      if (header_len == 0 || in->len - pos < header_len + body_len) break;
      go_on = handle(in->data + pos + header_len, body_len, out);
      pos += header_len + body_len;
      if (!go_on) break;
    }
    if (out->len) {
      write_all(out->data, out->len);
      out->len = 0;
    }
    if (!go_on) return 0;
    if (pos == in->len) {
      in->len = pos = 0;
    } else if (pos > in->cap / 2) {
      memmove(in->data, in->data + pos, in->len - pos);
      in->len -= pos;
      pos = 0;
    }
  }
}

static void on_sigint(int signum) {
  (void)signum;
  const int saved = errno;
  (void)!write(1, "i", 1);
  errno = saved;
}

/* The signal floor: see the top of the file. */
static int sigint_echo(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGINT, &sa, NULL) != 0) return 1;
  write_all("r", 1);
  char sink[256];
  for (;;) {
    const ssize_t r = read(0, sink, sizeof sink);
    if (r == 0) return 0;
    if (r < 0 && errno != EINTR) return 1;
  }
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc == 2 && strcmp(argv[1], "--sigint-echo") == 0) return sigint_echo();
  if (argc != 1) {
    static const char usage[] = "usage: echo_floor [--sigint-echo]\n";
    (void)!write(2, usage, sizeof usage - 1);
    return 2;
  }
  Buf in = {0}, out = {0};
  const int rc = serve(&in, &out);
  free(in.data);
  free(out.data);
  return rc;
}

/* N-API surface of the native scrypt kernel. Each JS thread (main or worker) gets its own
 * scratchpad through the environment's instance data, so workers hash without sharing memory.
 *   info()                                        -> { features, paths, best, sha }
 *   scan(header, start, count, target, path, sha) -> number[]  nonces whose hash <= target
 *   hashRange(header, start, count, path, sha)    -> Buffer    count * 32 hash bytes
 * path: "avx512" | "avx2" | "sse2" | "scalar"; sha: "sha-ni" | "c". */

#include <node_api.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpu.h"
#include "scrypt.h"

typedef struct {
  void *V;
  size_t Vsize;
} mf_instance;

static mf_cpu g_cpu;
static mf_path g_paths[4];
static int g_npaths;

static void init_paths(void) {
  g_cpu = mf_cpu_detect();
  g_npaths = 0;
#if defined(__x86_64__)
  if (g_cpu.avx512f) g_paths[g_npaths++] = (mf_path){"avx512", 16, mf_romix_avx512};
  if (g_cpu.avx2) g_paths[g_npaths++] = (mf_path){"avx2", 8, mf_romix_avx2};
  if (g_cpu.sse2) g_paths[g_npaths++] = (mf_path){"sse2", 4, mf_romix_sse2};
#endif
  g_paths[g_npaths++] = (mf_path){"scalar", 1, mf_romix_scalar};
}

#define CHECK(call)                                                      \
  do {                                                                   \
    if ((call) != napi_ok) {                                             \
      napi_throw_error(env, NULL, "native scrypt: N-API call failed: " #call); \
      return NULL;                                                       \
    }                                                                    \
  } while (0)

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static void free_instance(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  mf_instance *in = data;
  free(in->V);
  free(in);
}

static void *scratchpad(napi_env env, int lanes) {
  mf_instance *in = NULL;
  if (napi_get_instance_data(env, (void **)&in) != napi_ok || in == NULL) {
    in = calloc(1, sizeof *in);
    if (!in || napi_set_instance_data(env, in, free_instance, NULL) != napi_ok) { free(in); return NULL; }
  }
  size_t need = (size_t)lanes * 128 * 1024;
  if (in->Vsize < need) {
    free(in->V);
    in->V = NULL;
    in->Vsize = 0;
    if (posix_memalign(&in->V, 64, need) != 0) { in->V = NULL; return NULL; }
    in->Vsize = need;
  }
  return in->V;
}

/* bytes of a Uint8Array/Buffer argument, or NULL (exception pending) */
static const uint8_t *bytes_arg(napi_env env, napi_value v, size_t min, const char *what) {
  bool is_ta = false;
  char msg[96];
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) {
    snprintf(msg, sizeof msg, "native scrypt: %s must be a Uint8Array", what);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  napi_typedarray_type type;
  size_t len;
  void *data;
  napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL);
  if (type != napi_uint8_array || len < min) {
    snprintf(msg, sizeof msg, "native scrypt: %s must be a Uint8Array of at least %zu bytes, got %zu", what, min, len);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  return data;
}

static int u32_arg(napi_env env, napi_value v, uint32_t *out, const char *what) {
  napi_valuetype t;
  double d;
  char msg[96];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
      d < 0 || d > 4294967295.0 || d != (double)(uint32_t)d) {
    snprintf(msg, sizeof msg, "native scrypt: %s must be an integer in [0, 2^32)", what);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  *out = (uint32_t)d;
  return 1;
}

static const mf_path *path_arg(napi_env env, napi_value v) {
  char name[16] = {0};
  size_t n;
  if (napi_get_value_string_utf8(env, v, name, sizeof name, &n) != napi_ok) {
    throw_type(env, "native scrypt: path must be a string");
    return NULL;
  }
  for (int i = 0; i < g_npaths; i++)
    if (strcmp(g_paths[i].name, name) == 0) return &g_paths[i];
  char msg[96];
  snprintf(msg, sizeof msg, "native scrypt: path '%s' is unknown or not supported by this CPU", name);
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static mf_sha256_fn sha_arg(napi_env env, napi_value v) {
  char name[16] = {0};
  size_t n;
  if (napi_get_value_string_utf8(env, v, name, sizeof name, &n) != napi_ok) {
    throw_type(env, "native scrypt: sha must be a string");
    return NULL;
  }
  if (strcmp(name, "c") == 0) return mf_sha256_c;
#if defined(__x86_64__) || defined(__i386__)
  if (strcmp(name, "sha-ni") == 0 && g_cpu.sha) return mf_sha256_shani;
#endif
  char msg[96];
  snprintf(msg, sizeof msg, "native scrypt: sha '%s' is unknown or not supported by this CPU", name);
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value set_bool(napi_env env, napi_value obj, const char *k, int b) {
  napi_value v;
  napi_get_boolean(env, b != 0, &v);
  napi_set_named_property(env, obj, k, v);
  return obj;
}

static napi_value js_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, features, paths, s;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_object(env, &features));
  set_bool(env, features, "sse2", g_cpu.sse2);
  set_bool(env, features, "avx2", g_cpu.avx2);
  set_bool(env, features, "avx512f", g_cpu.avx512f);
  set_bool(env, features, "sha", g_cpu.sha);
  CHECK(napi_set_named_property(env, out, "features", features));
  CHECK(napi_create_array_with_length(env, (size_t)g_npaths, &paths));
  for (int i = 0; i < g_npaths; i++) {
    napi_value p, name, lanes;
    CHECK(napi_create_object(env, &p));
    CHECK(napi_create_string_utf8(env, g_paths[i].name, NAPI_AUTO_LENGTH, &name));
    CHECK(napi_create_uint32(env, (uint32_t)g_paths[i].lanes, &lanes));
    CHECK(napi_set_named_property(env, p, "name", name));
    CHECK(napi_set_named_property(env, p, "lanes", lanes));
    CHECK(napi_set_element(env, paths, (uint32_t)i, p));
  }
  CHECK(napi_set_named_property(env, out, "paths", paths));
  CHECK(napi_create_string_utf8(env, g_paths[0].name, NAPI_AUTO_LENGTH, &s));
  CHECK(napi_set_named_property(env, out, "best", s));
  CHECK(napi_create_string_utf8(env, g_cpu.sha ? "sha-ni" : "c", NAPI_AUTO_LENGTH, &s));
  CHECK(napi_set_named_property(env, out, "sha", s));
  return out;
}

static napi_value js_scan(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return throw_type(env, "native scrypt: scan(header, start, count, target, path, sha)");
  const uint8_t *header = bytes_arg(env, argv[0], 80, "header");
  if (!header) return NULL;
  uint32_t start, count;
  if (!u32_arg(env, argv[1], &start, "start") || !u32_arg(env, argv[2], &count, "count")) return NULL;
  const uint8_t *target = bytes_arg(env, argv[3], 32, "target");
  if (!target) return NULL;
  const mf_path *path = path_arg(env, argv[4]);
  if (!path) return NULL;
  mf_sha256_fn sha = sha_arg(env, argv[5]);
  if (!sha) return NULL;
  void *V = scratchpad(env, path->lanes);
  if (!V) { napi_throw_error(env, NULL, "native scrypt: out of memory for the scratchpad"); return NULL; }

  mf_header h;
  mf_header_load(&h, header, sha);
  napi_value found;
  CHECK(napi_create_array(env, &found));
  uint32_t nfound = 0;
  uint32_t nonces[MF_MAX_LANES];
  uint8_t out[32 * MF_MAX_LANES];
  for (uint32_t done = 0; done < count;) {
    int n = (int)((count - done) < (uint32_t)path->lanes ? (count - done) : (uint32_t)path->lanes);
    for (int l = 0; l < n; l++) nonces[l] = start + done + (uint32_t)l; /* wraps mod 2^32 */
    mf_scrypt_batch(&h, nonces, n, path, sha, V, out);
    for (int l = 0; l < n; l++) {
      if (mf_meets_target(out + 32 * l, target)) {
        napi_value v;
        CHECK(napi_create_uint32(env, nonces[l], &v));
        CHECK(napi_set_element(env, found, nfound++, v));
      }
    }
    done += (uint32_t)n;
  }
  return found;
}

static napi_value js_hash_range(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return throw_type(env, "native scrypt: hashRange(header, start, count, path, sha)");
  const uint8_t *header = bytes_arg(env, argv[0], 80, "header");
  if (!header) return NULL;
  uint32_t start, count;
  if (!u32_arg(env, argv[1], &start, "start") || !u32_arg(env, argv[2], &count, "count")) return NULL;
  if (count > (1u << 20)) return throw_type(env, "native scrypt: hashRange count must be at most 2^20");
  const mf_path *path = path_arg(env, argv[3]);
  if (!path) return NULL;
  mf_sha256_fn sha = sha_arg(env, argv[4]);
  if (!sha) return NULL;
  void *V = scratchpad(env, path->lanes);
  if (!V) { napi_throw_error(env, NULL, "native scrypt: out of memory for the scratchpad"); return NULL; }
  mf_header h;
  mf_header_load(&h, header, sha);
  napi_value buf;
  void *data;
  CHECK(napi_create_buffer(env, (size_t)count * 32, &data, &buf));
  uint32_t nonces[MF_MAX_LANES];
  for (uint32_t done = 0; done < count;) {
    int n = (int)((count - done) < (uint32_t)path->lanes ? (count - done) : (uint32_t)path->lanes);
    for (int l = 0; l < n; l++) nonces[l] = start + done + (uint32_t)l;
    mf_scrypt_batch(&h, nonces, n, path, sha, V, (uint8_t *)data + (size_t)done * 32);
    done += (uint32_t)n;
  }
  return buf;
}

NAPI_MODULE_INIT() {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, init_paths); /* once per process: worker threads load the addon too */
  napi_property_descriptor props[] = {
      {"info", NULL, js_info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scan", NULL, js_scan, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hashRange", NULL, js_hash_range, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, 3, props) != napi_ok) return NULL;
  return exports;
}

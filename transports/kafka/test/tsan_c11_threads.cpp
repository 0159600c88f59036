// For ThreadSanitizer only: librdkafka runs its threads, locks and condition variables through
// glibc's C11 <threads.h>, which calls glibc's pthread code from inside, where TSan (GCC 12's)
// does not see it: a thread started by thrd_create crashes TSan's allocator at its first
// malloc, and its mutexes order nothing TSan knows of. Defined here, in the test program, these
// C11 calls take precedence over glibc's for librdkafka and go through the pthread calls TSan
// intercepts. glibc lays out thrd_t, mtx_t, cnd_t and once_flag as their pthread counterparts.
#if defined(__SANITIZE_THREAD__)

#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <new>

namespace {

int result_of(int rc) {
  if (rc == 0) return thrd_success;
  if (rc == ETIMEDOUT) return thrd_timedout;
  if (rc == EBUSY) return thrd_busy;
  if (rc == ENOMEM) return thrd_nomem;
  return thrd_error;
}

struct start {
  thrd_start_t func;
  void* arg;
};

void* run(void* p) {
  const start s = *static_cast<start*>(p);
  delete static_cast<start*>(p);
  return reinterpret_cast<void*>(static_cast<long>(s.func(s.arg)));
}

pthread_mutex_t* native(mtx_t* m) {
  return reinterpret_cast<pthread_mutex_t*>(m);
}
pthread_cond_t* native(cnd_t* c) {
  return reinterpret_cast<pthread_cond_t*>(c);
}

}  // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* s = new (std::nothrow) start{func, arg};
  if (!s) return thrd_nomem;
  const int rc = pthread_create(thr, nullptr, run, s);
  if (rc != 0) delete s;
  return result_of(rc);
}

int thrd_join(thrd_t thr, int* res) {
  void* out = nullptr;
  const int rc = pthread_join(thr, &out);
  if (rc == 0 && res) *res = static_cast<int>(reinterpret_cast<long>(out));
  return result_of(rc);
}

int thrd_detach(thrd_t thr) {
  return result_of(pthread_detach(thr));
}

int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int rc = pthread_mutex_init(native(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return result_of(rc);
}
void mtx_destroy(mtx_t* m) {
  pthread_mutex_destroy(native(m));
}
int mtx_lock(mtx_t* m) {
  return result_of(pthread_mutex_lock(native(m)));
}
int mtx_trylock(mtx_t* m) {
  return result_of(pthread_mutex_trylock(native(m)));
}
int mtx_unlock(mtx_t* m) {
  return result_of(pthread_mutex_unlock(native(m)));
}

int cnd_init(cnd_t* c) {
  return result_of(pthread_cond_init(native(c), nullptr));
}
void cnd_destroy(cnd_t* c) {
  pthread_cond_destroy(native(c));
}
int cnd_signal(cnd_t* c) {
  return result_of(pthread_cond_signal(native(c)));
}
int cnd_broadcast(cnd_t* c) {
  return result_of(pthread_cond_broadcast(native(c)));
}
int cnd_wait(cnd_t* c, mtx_t* m) {
  return result_of(pthread_cond_wait(native(c), native(m)));
}
int cnd_timedwait(cnd_t* c, mtx_t* m, const struct timespec* until) {
  return result_of(pthread_cond_timedwait(native(c), native(m), until));
}

void call_once(once_flag* flag, void (*func)(void)) {
  pthread_once(reinterpret_cast<pthread_once_t*>(flag), func);
}

}  // extern "C"

#endif

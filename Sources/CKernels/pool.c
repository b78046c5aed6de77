// The run's worker threads (see CKernels.h, dg_pool_run). Workers wait for a new job by spinning
// briefly and then sleep on a condition variable, so a step's many short parallel pieces (gemm slices,
// elementwise kernels, the optimizer) start within a microsecond of each other, and an idle run does not
// burn a core for more than about a millisecond.
#define _GNU_SOURCE
#include "CKernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DG_RELAX() _mm_pause()
#else
#define DG_RELAX() ((void)0)
#endif

enum { DG_MAX_POOL = 256 };
static const long spin_nanoseconds = 1000000;  // spin up to 1 ms before sleeping

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;  // guards worker creation and sleeping
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static atomic_flag pool_busy = ATOMIC_FLAG_INIT;  // one job at a time; other callers run serially
static _Atomic int pool_threads = 1;              // threads a job may use, the caller included
static int pool_created = 0;                      // workers started (indices 1...pool_created)
static _Atomic unsigned long pool_generation;     // bumped once per job
static _Atomic long pool_remaining;               // workers still running the current job
static _Atomic int pool_sleepers;
static dg_pool_task job_fn;
static void *job_context;
static long job_tasks, job_stride;
static _Thread_local int inside_job;  // a task that calls dg_pool_run runs the inner job serially

static long now_nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

struct worker_start { long index; unsigned long generation; };

static void *pool_worker(void *argument) {
    // The generation when the worker was made, not when it first runs: a job published in between is its.
    struct worker_start start = *(struct worker_start *)argument;
    free(argument);
    long index = start.index;
    inside_job = 1;
    unsigned long seen = start.generation;
    for (;;) {
        unsigned long generation;
        long spins = 0, spinStart = 0;
        while ((generation = atomic_load(&pool_generation)) == seen) {
            if ((++spins & 255) != 0) { DG_RELAX(); continue; }
            sched_yield();  // lets a thread waiting for this CPU (another process's) run
            long t = now_nanoseconds();
            if (spinStart == 0) spinStart = t;
            if (t - spinStart < spin_nanoseconds) continue;
            pthread_mutex_lock(&pool_lock);
            atomic_fetch_add(&pool_sleepers, 1);
            while (atomic_load(&pool_generation) == seen) pthread_cond_wait(&pool_wake, &pool_lock);
            atomic_fetch_sub(&pool_sleepers, 1);
            pthread_mutex_unlock(&pool_lock);
            spins = 0; spinStart = 0;
        }
        seen = generation;
        if (index < job_stride) {
            for (long t = index; t < job_tasks; t += job_stride) job_fn(job_context, t);
            atomic_fetch_sub(&pool_remaining, 1);
        }
    }
    return NULL;
}

// CPUs this process may run on: more threads than that only make spinning workers and the caller take
// turns on one CPU (a 2-thread 4x24 step on one CPU took 68 ms instead of 3.5).
static int available_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

void dg_pool_set_threads(int threads) {
    if (threads < 1) threads = 1;
    int cpus = available_cpus();
    if (threads > cpus) threads = cpus;
    if (threads > DG_MAX_POOL) threads = DG_MAX_POOL;
    pthread_mutex_lock(&pool_lock);
    while (pool_created < threads - 1) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        struct worker_start *start = malloc(sizeof *start);
        if (start) *start = (struct worker_start){pool_created + 1, atomic_load(&pool_generation)};
        if (!start || pthread_create(&thread, &attributes, pool_worker, start) != 0) {
            free(start);
            pthread_attr_destroy(&attributes);
            break;  // fewer threads than asked: jobs use those that exist
        }
        pthread_attr_destroy(&attributes);
        pool_created++;
    }
    atomic_store(&pool_threads, threads <= pool_created + 1 ? threads : pool_created + 1);
    pthread_mutex_unlock(&pool_lock);
}

int dg_pool_threads(void) { return atomic_load(&pool_threads); }

void dg_pool_run(long tasks, dg_pool_task fn, void *context) {
    long threads = atomic_load(&pool_threads);
    long stride = tasks < threads ? tasks : threads;
    if (stride <= 1 || inside_job || atomic_flag_test_and_set(&pool_busy)) {
        for (long t = 0; t < tasks; t++) fn(context, t);
        return;
    }
    job_fn = fn;
    job_context = context;
    job_tasks = tasks;
    job_stride = stride;
    atomic_store(&pool_remaining, stride - 1);
    atomic_fetch_add(&pool_generation, 1);  // publishes the job (sequentially consistent)
    if (atomic_load(&pool_sleepers) > 0) {
        pthread_mutex_lock(&pool_lock);
        pthread_cond_broadcast(&pool_wake);
        pthread_mutex_unlock(&pool_lock);
    }
    inside_job = 1;
    for (long t = 0; t < tasks; t += stride) fn(context, t);
    inside_job = 0;
    for (long spins = 1; atomic_load(&pool_remaining) > 0; spins++) {
        DG_RELAX();
        if ((spins & 1023) == 0) sched_yield();  // a worker that lost its CPU gets it back sooner
    }
    atomic_flag_clear(&pool_busy);
}

// The run's worker threads (see CKernels.h, dg_pool_run). Workers wait for a new job by spinning
// briefly and then sleep on a condition variable, so a step's many short parallel pieces (gemm slices,
// elementwise kernels, the optimizer) start within a microsecond of each other, and an idle run does not
// burn a core for more than about a millisecond. Tasks are claimed one at a time from a shared counter by
// whichever thread is free, the caller included: a worker that is late (its CPU taken by another process,
// or by the hypervisor) never holds the caller up by more than the task it has already begun.
#define _GNU_SOURCE
#include "CKernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdint.h>
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
// The current job: its generation in the high 32 bits, the next unclaimed task in the low 32. Publishing a
// job stores (generation, 0); a claim is a compare-and-swap that fails once the generation has moved on.
static _Atomic uint64_t pool_claim;
static uint32_t pool_generation;                  // the caller's count of jobs (only dg_pool_run writes it)
static _Atomic long pool_done;                    // tasks of the current job finished
static _Atomic int pool_sleepers;
static dg_pool_task job_fn;                       // set before a job is published, unchanged until it is done
static void *job_context;
static _Atomic long job_tasks;               // read by workers before a claim, so atomic
static _Thread_local int inside_job;  // a task that calls dg_pool_run runs the inner job serially

static long now_nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

// Runs tasks of job `generation` until none is left unclaimed (or a newer job has replaced it).
static void run_tasks(uint32_t generation) {
    for (;;) {
        uint64_t current = atomic_load(&pool_claim);
        if ((uint32_t)(current >> 32) != generation) return;
        long task = (long)(uint32_t)current;
        if (task >= job_tasks) return;
        if (atomic_compare_exchange_weak(&pool_claim, &current, current + 1)) {
            // The claim keeps pool_done below job_tasks until this task is done, so the caller cannot
            // publish the next job (and change job_fn) meanwhile.
            job_fn(job_context, task);
            atomic_fetch_add(&pool_done, 1);
        }
    }
}

struct worker_start { long index; uint32_t generation; };

static void *pool_worker(void *argument) {
    // The generation when the worker was made, not when it first runs: a job published in between is its.
    struct worker_start start = *(struct worker_start *)argument;
    free(argument);
    long index = start.index;
    inside_job = 1;
    uint32_t seen = start.generation;
    for (;;) {
        uint32_t generation;
        long spins = 0, spinStart = 0;
        while ((generation = (uint32_t)(atomic_load(&pool_claim) >> 32)) == seen) {
            if ((++spins & 255) != 0) { DG_RELAX(); continue; }
            sched_yield();  // lets a thread waiting for this CPU (another process's) run
            long t = now_nanoseconds();
            if (spinStart == 0) spinStart = t;
            if (t - spinStart < spin_nanoseconds) continue;
            pthread_mutex_lock(&pool_lock);
            atomic_fetch_add(&pool_sleepers, 1);
            while ((uint32_t)(atomic_load(&pool_claim) >> 32) == seen) pthread_cond_wait(&pool_wake, &pool_lock);
            atomic_fetch_sub(&pool_sleepers, 1);
            pthread_mutex_unlock(&pool_lock);
            spins = 0; spinStart = 0;
        }
        seen = generation;
        if (index < atomic_load(&pool_threads)) run_tasks(generation);
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
        if (start) *start = (struct worker_start){pool_created + 1, (uint32_t)(atomic_load(&pool_claim) >> 32)};
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
    if (tasks <= 1 || atomic_load(&pool_threads) <= 1 || inside_job || atomic_flag_test_and_set(&pool_busy)) {
        for (long t = 0; t < tasks; t++) fn(context, t);
        return;
    }
    job_fn = fn;
    job_context = context;
    job_tasks = tasks;
    atomic_store(&pool_done, 0);
    uint32_t generation = ++pool_generation;
    atomic_store(&pool_claim, (uint64_t)generation << 32);  // publishes the job (sequentially consistent)
    if (atomic_load(&pool_sleepers) > 0) {
        pthread_mutex_lock(&pool_lock);
        pthread_cond_broadcast(&pool_wake);
        pthread_mutex_unlock(&pool_lock);
    }
    inside_job = 1;
    run_tasks(generation);
    inside_job = 0;
    for (long spins = 1; atomic_load(&pool_done) < tasks; spins++) {
        DG_RELAX();
        if ((spins & 1023) == 0) sched_yield();  // a worker that lost its CPU gets it back sooner
    }
    atomic_flag_clear(&pool_busy);
}

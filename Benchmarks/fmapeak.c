// The machine's fp32 FMA peak: every core runs independent chains of vector FMAs (enough of them to hide the
// FMA latency), and the best of several runs is reported in GFLOP/s (1 FMA = 2 FLOPs per lane).
// Build: cc -O2 -march=native -pthread fmapeak.c -o fmapeak; run: ./fmapeak [threads [millions of iterations]]
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHAINS 12

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define SUM(v) _mm512_reduce_add_ps(v)
#elif defined(__AVX2__) && defined(__FMA__)
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
static float SUM(__m256 v) { float t[8]; _mm256_storeu_ps(t, v); float s = 0; for (int i = 0; i < 8; i++) s += t[i]; return s; }
#else
#error "needs AVX2+FMA or AVX-512"
#endif

/// Twelve named accumulators, so that they stay in registers whatever the compiler's unrolling choices.
static long iterations = 20000000L;

static void* run(void* arg) {
    const vec a = SET1(0.999999f), b = SET1(1e-7f);
    vec c0 = SET1(0.0f), c1 = SET1(0.1f), c2 = SET1(0.2f), c3 = SET1(0.3f), c4 = SET1(0.4f), c5 = SET1(0.5f);
    vec c6 = SET1(0.6f), c7 = SET1(0.7f), c8 = SET1(0.8f), c9 = SET1(0.9f), c10 = SET1(1.0f), c11 = SET1(1.1f);
    for (long it = 0; it < iterations; it++) {
        c0 = FMA(c0, a, b); c1 = FMA(c1, a, b); c2 = FMA(c2, a, b); c3 = FMA(c3, a, b);
        c4 = FMA(c4, a, b); c5 = FMA(c5, a, b); c6 = FMA(c6, a, b); c7 = FMA(c7, a, b);
        c8 = FMA(c8, a, b); c9 = FMA(c9, a, b); c10 = FMA(c10, a, b); c11 = FMA(c11, a, b);
        __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5));
    }
    vec s = ADD(ADD(ADD(c0, c1), ADD(c2, c3)), ADD(ADD(c4, c5), ADD(c6, c7)));
    s = ADD(s, ADD(ADD(c8, c9), ADD(c10, c11)));
    *(float*)arg = SUM(s);
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char** argv) {
    int threads = argc > 1 ? atoi(argv[1]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1 || threads > 256) { fprintf(stderr, "error: thread count must be 1...256\n"); return 1; }
    if (argc > 2) iterations = atol(argv[2]) * 1000000L;
    if (iterations < 1000000L) { fprintf(stderr, "error: iterations must be at least 1 (million)\n"); return 1; }
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        pthread_t t[256];
        float sink[256];
        double t0 = now();
        for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, run, &sink[i]);
        for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
        double seconds = now() - t0;
        double gflops = 2.0 * LANES * CHAINS * (double)iterations * threads / seconds * 1e-9;
        if (gflops > best) best = gflops;
        if (sink[0] == 12345.0f) printf("!");
    }
    printf("%.1f\n", best);
    return 0;
}

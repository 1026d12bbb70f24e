/* sim_header.h: lets the host C++ compiler build tracejit's generated CUDA C unchanged.
 *
 * Execution model: one OpenMP thread per CUDA thread of a block; the blocks of a grid run
 * one after the other inside a single parallel region, separated by a barrier, so
 * __shared__ (function statics) is per block and __syncthreads() is an OpenMP barrier.
 * Warp shuffles go through a per-module scratch array and a barrier: correct for full
 * warps of 32 when every thread of the block reaches the shuffle (block-uniform control
 * flow), which tracejit's kernels guarantee.  Launches of one module must not overlap.
 */
#ifndef TJ_SIM_HEADER_H
#define TJ_SIM_HEADER_H

#include <math.h>
#include <omp.h>
#include <string.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __shared__ static
#define TJ_SIM_EXPORT extern "C" __attribute__((visibility("default")))

struct uint3 { unsigned x, y, z; };
typedef uint3 dim3;
struct __attribute__((aligned(16))) float4 { float x, y, z, w; };
struct __attribute__((aligned(16))) int4 { int x, y, z, w; };
struct __attribute__((aligned(8))) float2 { float x, y; };
static inline float4 make_float4(float x, float y, float z, float w) {
  float4 r = {x, y, z, w};
  return r;
}
static inline float2 make_float2(float x, float y) {
  float2 r = {x, y};
  return r;
}

/* per OpenMP thread, i.e. per simulated CUDA thread */
static thread_local uint3 threadIdx, blockIdx, blockDim, gridDim;
static const int warpSize = 32;

/* halves: GCC's _Float16 converts with round-to-nearest-even like __float2half_rn */
typedef _Float16 tj_half;
static inline float tj_h2f(tj_half v) { return (float)v; }
static inline tj_half tj_f2h(float v) { return (tj_half)v; }
static inline tj_half tj_d2h(double v) { return (tj_half)v; }
static inline tj_half tj_i2h(int v) { return (tj_half)v; }
static inline tj_half tj_ll2h(long long v) { return (tj_half)v; }

static inline void __syncthreads() { _Pragma("omp barrier") }
static inline void __syncwarp(unsigned = 0xffffffffu) { _Pragma("omp barrier") }
static inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
template <typename T> static inline T __ldg(const T* p) { return *p; }
template <typename T> static inline T atomicAdd(T* address, T val) {
  T old;
#pragma omp atomic capture
  { old = *address; *address += val; }
  return old;
}

static inline unsigned tj_sim_tid() {
  return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
}

/* Double-buffered lane scratch: one barrier per shuffle suffices, because a thread can
 * only rewrite buffer p (two shuffles later) after every thread passed the barrier of the
 * shuffle in between, i.e. after every read of p.  The parity resets at each launch. */
static unsigned long long tj_sim_lanes[2][1024];
static thread_local unsigned tj_sim_phase;

/* value of ``v`` held by linear thread ``src`` of this block (every thread must call) */
template <typename T> static inline T tj_sim_exchange(T v, unsigned src, bool ok) {
  static_assert(sizeof(T) <= sizeof(unsigned long long), "shuffle of a type > 8 bytes");
  unsigned long long* lanes = tj_sim_lanes[tj_sim_phase++ & 1u];
  memcpy(&lanes[tj_sim_tid()], &v, sizeof(T));
  __syncthreads();
  T r = v;
  if (ok && src < 1024) memcpy(&r, &lanes[src], sizeof(T));
  return r;
}
template <typename T>
static inline T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
  const unsigned t = tj_sim_tid(), lane = t % (unsigned)width;
  return tj_sim_exchange(v, t + delta, lane + delta < (unsigned)width);
}
template <typename T>
static inline T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
  const unsigned t = tj_sim_tid(), lane = t % (unsigned)width;
  return tj_sim_exchange(v, t - delta, lane >= delta);
}
template <typename T>
static inline T __shfl_xor_sync(unsigned, T v, int mask, int width = 32) {
  const unsigned t = tj_sim_tid(), lane = t % (unsigned)width;
  const unsigned src = lane ^ (unsigned)mask;
  return tj_sim_exchange(v, t - lane + src, src < (unsigned)width);
}
template <typename T> static inline T __shfl_sync(unsigned, T v, int src_lane, int width = 32) {
  const unsigned t = tj_sim_tid(), lane = t % (unsigned)width;
  return tj_sim_exchange(v, t - lane + (unsigned)src_lane % (unsigned)width, true);
}

/* Run ``body`` (one call of the kernel) for every block of the grid.  Returns 0, or 1 for
 * a bad configuration, 2 when OpenMP gave fewer threads than the block needs. */
template <typename F>
static int tj_sim_run(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                      unsigned bz, F body) {
  const unsigned long long nt = (unsigned long long)bx * by * bz;
  if (nt == 0 || nt > 1024 || gx == 0 || gy == 0 || gz == 0) return 1;
  int bad = 0;
#pragma omp parallel num_threads((int)nt)
  {
    if ((unsigned long long)omp_get_num_threads() != nt) {
#pragma omp atomic write
      bad = 2;
    } else {
      const unsigned t = (unsigned)omp_get_thread_num();
      tj_sim_phase = 0;
      threadIdx.x = t % bx;
      threadIdx.y = (t / bx) % by;
      threadIdx.z = t / (bx * by);
      blockDim.x = bx; blockDim.y = by; blockDim.z = bz;
      gridDim.x = gx; gridDim.y = gy; gridDim.z = gz;
      for (unsigned z = 0; z < gz; ++z)
        for (unsigned y = 0; y < gy; ++y)
          for (unsigned x = 0; x < gx; ++x) {
            blockIdx.x = x; blockIdx.y = y; blockIdx.z = z;
            body();
            __syncthreads(); /* the next block reuses __shared__ memory */
          }
    }
  }
  return bad;
}

#endif

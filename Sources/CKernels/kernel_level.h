// One instruction-set level of the kernels, in float and double: kernels.c includes this once
// per level with KLEVEL (baseline, avx2, avx512) and KATTR (its target attribute) defined.
#define KGLUE_(a, b) a##b
#define KGLUE(a, b) KGLUE_(a, b)

#define KDEFINE(level, attr) DEFINE_LEVEL(level, attr)  // expands KLEVEL first
KDEFINE(KLEVEL, KATTR)
#undef KDEFINE

#define KT float
#define KN(x) KGLUE(KGLUE(smtl_k_, x), KGLUE(_f_, KLEVEL))
#define KEXP(v) KGLUE(smtl_expf_, KLEVEL)(v)
#define KTANH(v) KGLUE(smtl_tanhf_, KLEVEL)(v)
#define KSQRT(v) smtl_sqrtf(v)
#include "kernel_body.h"
#undef KT
#undef KN
#undef KEXP
#undef KTANH
#undef KSQRT

#define KT double
#define KN(x) KGLUE(KGLUE(smtl_k_, x), KGLUE(_d_, KLEVEL))
#define KEXP(v) exp(v)
#define KTANH(v) tanh(v)
#define KSQRT(v) smtl_sqrt(v)
#include "kernel_body.h"
#undef KT
#undef KN
#undef KEXP
#undef KTANH
#undef KSQRT

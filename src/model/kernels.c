/* kernels.c - the kernel tables (see kernels.h). */
#include "model/kernels.h"

#include <string.h>

const pt_kernels pt_kernels_ref = {
    "ref",
    pt_k_matmul_fwd_ref, pt_k_matmul_bwd_ref,
    pt_k_layernorm_fwd_ref, pt_k_layernorm_bwd_ref,
    pt_k_gelu_fwd_ref, pt_k_gelu_bwd_ref,
    pt_k_attn_fwd_ref, pt_k_attn_bwd_ref,
    pt_k_encoder_fwd_ref, pt_k_encoder_bwd_ref,
    pt_k_xent_ref,
    pt_k_add_ref,
};

const pt_kernels pt_kernels_cpu = {
    "cpu",
    pt_k_matmul_fwd_cpu, pt_k_matmul_bwd_cpu,
    pt_k_layernorm_fwd_cpu, pt_k_layernorm_bwd_cpu,
    pt_k_gelu_fwd_cpu, pt_k_gelu_bwd_cpu,
    pt_k_attn_fwd_cpu, pt_k_attn_bwd_cpu,
    pt_k_encoder_fwd_cpu, pt_k_encoder_bwd_cpu,
    pt_k_xent_cpu,
    pt_k_add_cpu,
};

const pt_kernels *pt_kernels_get(const char *name) {
    if (!strcmp(name, "ref")) return &pt_kernels_ref;
    if (!strcmp(name, "cpu")) return &pt_kernels_cpu;
    return NULL;
}

// oracle writes the test vectors in ../ggml/ by running ggml's own
// quantization code from a prebuilt ggml (the shared libraries of the npm
// package @node-llama-cpp/linux-x64, which wrap llama.cpp). It calls only
// exported ggml functions; no ggml source is compiled here.
//
//   gcc -O2 -o /tmp/oracle oracle.c -ldl
//   /tmp/oracle /path/to/bins/linux-x64 ../ggml
//
// Files (all little-endian):
//   input.bin        u32 n, float32[n]             the quantizer input
//   <TYPE>.bin       "GGQV", u32 version=1, u32 ggml type id,
//                    u32 nq, u32 qbytes, u8[qbytes] ggml's quantization of
//                    input.bin[0:nq] (no imatrix),
//                    u32 nd, u32 rawbytes, u8[rawbytes] random blocks,
//                    float32[nd] ggml's dequantization of those blocks
//   act.bin          u32 n, then the CPU backend's activation quantizers
//                    (libggml-cpu-<variant>.so) applied to input.bin[0:n]:
//                    u32 len + bytes for quantize_row_q8_0, quantize_row_q8_1,
//                    quantize_row_q8_K
//   sizes.txt        "id name block_size type_size" for every type id < 40
//   hashes.txt       FNV-1a-64 over the outputs of ggml's f16/bf16
//                    conversions for every input bit pattern
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef size_t (*quantize_chunk_fn)(int type, const float *src, void *dst, int64_t start, int64_t nrows,
                                    int64_t n_per_row, const float *imatrix);
typedef void (*row_q_fn)(const float *x, void *y, int64_t k);
typedef void (*row_dq_fn)(const void *x, float *y, int64_t k);
typedef size_t (*row_size_fn)(int type, int64_t ne);

static void *base, *cpu;

static void *sym(void *lib, const char *name) {
	void *p = dlsym(lib, name);
	if (!p) {
		fprintf(stderr, "missing symbol %s\n", name);
		exit(1);
	}
	return p;
}

// splitmix64: a small deterministic generator.
static uint64_t rng_state = 0x5eed5eed12345678ull;
static uint64_t next64(void) {
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static float uni(void) { return (float)(next64() >> 40) / 16777216.0f; } // [0,1)
static float gauss(void) { return uni() + uni() + uni() + uni() - 2.0f; }
static float pow2(int e) {
	float f = 1.0f;
	while (e > 0) { f *= 2.0f; e--; }
	while (e < 0) { f *= 0.5f; e++; }
	return f;
}

// fill writes n values in 32-element chunks, each drawn in one of several
// modes that reach the quantizers' special cases.
static void fill(float *x, int n) {
	for (int c = 0; c < n; c += 32) {
		int mode = (int)(next64() % 12);
		float scale = pow2((int)(next64() % 13) - 8) * (1.0f + uni());
		float p2 = pow2((int)(next64() % 9) - 4);
		float *y = x + c;
		for (int i = 0; i < 32; i++) {
			switch (mode) {
			case 1: y[i] = 0.0f; break;                                  // all zero
			case 2: y[i] = scale; break;                                 // constant
			case 3: y[i] = scale * (1.0f + uni()); break;                // all positive
			case 4: y[i] = -scale * (0.5f + uni()); break;               // all negative
			case 5: y[i] = (i == 7 ? 20.0f : 1.0f) * scale * gauss(); break; // outlier
			case 6: y[i] = 1e-6f * pow2(-(int)(next64() % 12)) * gauss(); break; // tiny
			case 7: y[i] = 0.25f * (float)((int)(next64() % 16) - 8); break; // on a grid
			case 8: y[i] = 1000.0f * (1.0f + 20.0f * uni()) * gauss(); break; // large
			case 9: y[i] = (i % 16 == 3) ? scale : 0.0f; break;          // sparse
			case 10: // halfway cases: q = x/d lands on k + 0.5 for Q8_0
				y[i] = p2 * (i == 0 ? 127.0f : (float)((int)(next64() % 254) - 127) + 0.5f);
				break;
			default: y[i] = scale * gauss(); break;
			}
		}
	}
}

static void put32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ull; }
	return h;
}

struct typ { const char *name; int id; const char *dq; const char *qref; };

int main(int argc, char **argv) {
	if (argc != 3) { fprintf(stderr, "usage: oracle LIBDIR OUTDIR\n"); return 2; }
	char path[4096];
	snprintf(path, sizeof path, "%s/libggml-base.so", argv[1]);
	base = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!base) { fprintf(stderr, "%s\n", dlerror()); return 1; }
	snprintf(path, sizeof path, "%s/libggml-cpu-zen4.so", argv[1]);
	cpu = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!cpu) { fprintf(stderr, "%s\n", dlerror()); return 1; }

	quantize_chunk_fn qchunk = sym(base, "ggml_quantize_chunk");
	row_size_fn row_size = sym(base, "ggml_row_size");

	enum { NQ = 8192, ND = 1024 };
	static float in[NQ];
	fill(in, NQ);
	snprintf(path, sizeof path, "%s/input.bin", argv[2]);
	FILE *f = fopen(path, "wb");
	put32(f, NQ);
	fwrite(in, 4, NQ, f);
	fclose(f);

	struct typ types[] = {
		{"F16", 1, "ggml_fp16_to_fp32_row", NULL},
		{"BF16", 30, "ggml_bf16_to_fp32_row", NULL},
		{"Q4_0", 2, "dequantize_row_q4_0", NULL},
		{"Q4_1", 3, "dequantize_row_q4_1", NULL},
		{"Q5_0", 6, "dequantize_row_q5_0", NULL},
		{"Q5_1", 7, "dequantize_row_q5_1", NULL},
		{"Q8_0", 8, "dequantize_row_q8_0", NULL},
		{"Q8_1", 9, NULL, "quantize_row_q8_1_ref"},
		{"Q2_K", 10, "dequantize_row_q2_K", NULL},
		{"Q3_K", 11, "dequantize_row_q3_K", NULL},
		{"Q4_K", 12, "dequantize_row_q4_K", NULL},
		{"Q5_K", 13, "dequantize_row_q5_K", NULL},
		{"Q6_K", 14, "dequantize_row_q6_K", NULL},
		{"Q8_K", 15, "dequantize_row_q8_K", "quantize_row_q8_K_ref"},
		{"IQ4_NL", 20, "dequantize_row_iq4_nl", NULL},
		{"IQ4_XS", 23, "dequantize_row_iq4_xs", NULL},
		{"MXFP4", 39, "dequantize_row_mxfp4", NULL},
	};
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		struct typ *ty = &types[t];
		size_t qb = row_size(ty->id, NQ), rb = row_size(ty->id, ND);
		uint8_t *q = calloc(qb, 1), *raw = malloc(rb);
		float *dq = calloc(ND, 4);
		if (ty->qref) {
			((row_q_fn)sym(base, ty->qref))(in, q, NQ);
		} else {
			qchunk(ty->id, in, q, 0, 1, NQ, NULL);
		}
		for (size_t i = 0; i < rb; i++) raw[i] = (uint8_t)next64();
		if (ty->dq) ((row_dq_fn)sym(base, ty->dq))(raw, dq, ND);
		snprintf(path, sizeof path, "%s/%s.bin", argv[2], ty->name);
		f = fopen(path, "wb");
		fwrite("GGQV", 1, 4, f);
		put32(f, 1);
		put32(f, ty->id);
		put32(f, NQ);
		put32(f, qb);
		fwrite(q, 1, qb, f);
		put32(f, ty->dq ? ND : 0);
		put32(f, ty->dq ? rb : 0);
		if (ty->dq) {
			fwrite(raw, 1, rb, f);
			fwrite(dq, 4, ND, f);
		}
		fclose(f);
		free(q); free(raw); free(dq);
	}

	// The CPU backend's activation quantizers.
	snprintf(path, sizeof path, "%s/act.bin", argv[2]);
	f = fopen(path, "wb");
	put32(f, NQ);
	const char *acts[] = {"quantize_row_q8_0", "quantize_row_q8_1", "quantize_row_q8_K"};
	int act_types[] = {8, 9, 15};
	for (int a = 0; a < 3; a++) {
		size_t qb = row_size(act_types[a], NQ);
		uint8_t *q = calloc(qb, 1);
		((row_q_fn)sym(cpu, acts[a]))(in, q, NQ);
		put32(f, qb);
		fwrite(q, 1, qb, f);
		free(q);
	}
	fclose(f);

	// Block geometry of every type id ggml knows (ids of removed types give
	// a zero block size and are skipped).
	typedef int64_t (*blck_fn)(int);
	typedef size_t (*tsize_fn)(int);
	typedef const char *(*tname_fn)(int);
	blck_fn blck = sym(base, "ggml_blck_size");
	tsize_fn tsize = sym(base, "ggml_type_size");
	tname_fn tname = sym(base, "ggml_type_name");
	snprintf(path, sizeof path, "%s/sizes.txt", argv[2]);
	f = fopen(path, "w");
	for (int id = 0; id < 40; id++) {
		if (blck(id) == 0) continue;
		fprintf(f, "%d %s %lld %zu\n", id, tname(id), (long long)blck(id), tsize(id));
	}
	fclose(f);

	// Hashes of the scalar conversions over every input bit pattern.
	typedef void (*f2h_fn)(const float *, uint16_t *, int64_t);
	typedef void (*h2f_fn)(const uint16_t *, float *, int64_t);
	f2h_fn f2h = sym(base, "ggml_fp32_to_fp16_row");
	f2h_fn f2b = sym(base, "ggml_fp32_to_bf16_row_ref");
	h2f_fn h2f = sym(base, "ggml_fp16_to_fp32_row");
	h2f_fn b2f = sym(base, "ggml_bf16_to_fp32_row");
	enum { CH = 1 << 20 };
	static uint32_t bits[CH];
	static uint16_t out16[CH];
	static float out32[1 << 16];
	static uint16_t all16[1 << 16];
	uint64_t hh = 0xcbf29ce484222325ull, hb = hh;
	for (uint64_t lo = 0; lo < (1ull << 32); lo += CH) {
		for (uint32_t i = 0; i < CH; i++) bits[i] = (uint32_t)(lo + i);
		f2h((const float *)bits, out16, CH);
		hh = fnv(hh, out16, sizeof out16);
		f2b((const float *)bits, out16, CH);
		hb = fnv(hb, out16, sizeof out16);
	}
	for (uint32_t i = 0; i < (1u << 16); i++) all16[i] = (uint16_t)i;
	h2f(all16, out32, 1 << 16);
	uint64_t h16 = fnv(0xcbf29ce484222325ull, out32, sizeof out32);
	b2f(all16, out32, 1 << 16);
	uint64_t hb16 = fnv(0xcbf29ce484222325ull, out32, sizeof out32);
	snprintf(path, sizeof path, "%s/hashes.txt", argv[2]);
	f = fopen(path, "w");
	fprintf(f, "fp32_to_fp16 %016llx\nfp32_to_bf16 %016llx\nfp16_to_fp32 %016llx\nbf16_to_fp32 %016llx\n",
	        (unsigned long long)hh, (unsigned long long)hb, (unsigned long long)h16, (unsigned long long)hb16);
	fclose(f);
	return 0;
}

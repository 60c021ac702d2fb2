// oracle writes the test vectors in ../ggml/ by running ggml's own
// quantization code from a prebuilt ggml (the shared libraries of the npm
// package @node-llama-cpp/linux-x64, which wrap llama.cpp). It calls only
// exported ggml functions; no ggml source is compiled here.
//
//   gcc -O2 -o /tmp/oracle oracle.c -ldl
//   /tmp/oracle /path/to/bins/linux-x64 ../ggml        # every file
//   /tmp/oracle /path/to/bins/linux-x64 ../ggml iq     # only the IQ files
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
//
// The IQ files (written last, from their own seed, so that the files above
// do not depend on them):
//   iqgrids.bin      "GGIG", u32 version=1, u32 ntables, then per table:
//                    u32 type id, u32 entries, u32 width, u8[entries*width]:
//                    the codebook of that type read back from ggml's
//                    dequantizer (see extract_grids)
//   <TYPE>.bin       as above for IQ2_XXS IQ2_XS IQ2_S IQ3_XXS IQ3_S IQ1_S
//                    IQ1_M, with nq = qbytes = 0 (ggml quantizes these only
//                    with an importance matrix) and random blocks whose f16
//                    scale is any finite value
//   dots.bin         "GGQD", u32 version=1, u32 ncols, u32 nact,
//                    float32[nact*ncols] activations, u32 actbytes,
//                    u8[nact*actbytes] the CPU backend's Q8_K rows of them,
//                    u32 ntypes, then per weight type: u32 type id,
//                    u32 nrows, u32 rowbytes, u8[nrows*rowbytes] random rows
//                    (moderate f16 scales), float32[nrows*nact] the CPU
//                    backend's vec_dot of each row with each Q8_K row
//                    ([row][act]), float32[nrows*nact] the same with the
//                    portable ggml_vec_dot_*_q8_K_generic
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

// ---- IQ types -------------------------------------------------------------

typedef void (*vec_dot_fn)(int n, float *s, size_t bs, const void *x, size_t bx, const void *y, size_t by, int nrc);

// The CPU backend's per-type traits (ggml-cpu.h, struct ggml_type_traits_cpu).
struct traits_cpu {
	row_q_fn from_float;
	vec_dot_fn vec_dot;
	int vec_dot_type;
	int64_t nrows;
};
typedef const struct traits_cpu *(*traits_cpu_fn)(int type);

// The leading fields of ggml's struct ggml_type_traits (ggml.h).
struct traits {
	const char *type_name;
	int64_t blck_size;
	int64_t blck_size_interleave;
	size_t type_size;
	_Bool is_quantized;
	row_dq_fn to_float;
};
typedef const struct traits *(*traits_fn)(int type);

struct iqtyp { const char *name; int id; int size; const char *dq; const char *dot; };
static const struct iqtyp iqtypes[] = {
	{"IQ2_XXS", 16, 66, "dequantize_row_iq2_xxs", "ggml_vec_dot_iq2_xxs_q8_K_generic"},
	{"IQ2_XS", 17, 74, "dequantize_row_iq2_xs", "ggml_vec_dot_iq2_xs_q8_K_generic"},
	{"IQ2_S", 22, 82, "dequantize_row_iq2_s", "ggml_vec_dot_iq2_s_q8_K_generic"},
	{"IQ3_XXS", 18, 98, "dequantize_row_iq3_xxs", "ggml_vec_dot_iq3_xxs_q8_K_generic"},
	{"IQ3_S", 21, 110, "dequantize_row_iq3_s", "ggml_vec_dot_iq3_s_q8_K_generic"},
	{"IQ1_S", 19, 50, "dequantize_row_iq1_s", "ggml_vec_dot_iq1_s_q8_K_generic"},
	{"IQ1_M", 29, 56, "dequantize_row_iq1_m", "ggml_vec_dot_iq1_m_q8_K_generic"},
};
enum { NIQ = sizeof iqtypes / sizeof iqtypes[0] };

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

// set_scale stores the f16 bit pattern h as the block's scale: the field d
// at offset 0, or for IQ1_M the top nibbles of its four u16 scale words
// (bytes 48..55), the only place that type keeps it.
static void set_scale(int id, uint8_t *blk, uint16_t h) {
	if (id != 29) {
		put16(blk, h);
		return;
	}
	for (int i = 0; i < 4; i++) {
		uint8_t *w = blk + 48 + 2 * i;
		w[1] = (uint8_t)((w[1] & 0x0f) | ((h >> (4 * i)) & 0xf) << 4);
	}
}

// any_finite_f16 returns a random binary16 bit pattern that is not Inf/NaN.
static uint16_t any_finite_f16(void) {
	uint16_t h = (uint16_t)next64();
	if ((h & 0x7c00) == 0x7c00) h &= 0xfbff; // exponent 31 -> 30
	return h;
}

// moderate_f16 returns ±(1+m/1024)·2^e for e in [-10, -3].
static uint16_t moderate_f16(void) {
	uint64_t r = next64();
	uint16_t e = (uint16_t)(15 - 3 - (int)(r % 8));
	return (uint16_t)((r >> 8 & 1) << 15 | e << 10 | (r >> 16 & 0x3ff));
}

// extract_grid reads one codebook back from ggml's dequantizer. Each block
// is built with all signs positive, the smallest sub-block scale and a
// power-of-two d chosen so that the element scale is exactly 1 (IQ1_S: 1
// plus the +1/8 shift, which is subtracted); then grid entry k is placed
// where the type's bit layout puts index k, and the dequantized values are
// the entry's bytes. Every value is checked to be an integer in range.
static void extract_grid(row_dq_fn dq, int id, int size, int entries, int width, int per_block, FILE *f) {
	int nblk = entries / per_block;
	uint8_t *blocks = calloc((size_t)nblk, size);
	float *y = malloc(sizeof(float) * 256 * nblk);
	for (int b = 0; b < nblk; b++) {
		uint8_t *x = blocks + (size_t)b * size;
		for (int k = 0; k < per_block; k++) {
			int idx = b * per_block + k;
			switch (id) {
			case 16: // IQ2_XXS: d=8, scale 0 -> 8*(0.5)*0.25 = 1; index byte 4*l of each 8-byte group
				put16(x, 0x4800);
				x[2 + 8 * (k / 4) + k % 4] = (uint8_t)idx;
				break;
			case 17: // IQ2_XS: d=8; u16 qs[k] = 9-bit index, sign index 0
				put16(x, 0x4800);
				put16(x + 2 + 2 * k, (uint16_t)idx);
				break;
			case 22: // IQ2_S: d=8; qs[k] low 8 bits, bits 8-9 in qh[k/4] bits 2(k%4)
				put16(x, 0x4800);
				x[2 + k] = (uint8_t)idx;
				x[66 + k / 4] |= (uint8_t)(((idx >> 8) & 3) << (2 * (k % 4)));
				break;
			case 18: // IQ3_XXS: d=4, scale 0 -> 4*0.5*0.5 = 1; qs[k] covers elements 4k..4k+3
				put16(x, 0x4400);
				x[2 + k] = (uint8_t)idx;
				break;
			case 21: // IQ3_S: d=1, scale 0 -> 1; 9th bit of qs[k] is bit k%8 of qh[k/8]
				put16(x, 0x3c00);
				x[2 + k] = (uint8_t)idx;
				x[66 + k / 8] |= (uint8_t)(((idx >> 8) & 1) << (k % 8));
				break;
			case 19: { // IQ1_S: d=1; qs[k] low 8 bits, bits 8-10 in qh[k/4] bits 3(k%4)
				put16(x, 0x3c00);
				x[2 + k] = (uint8_t)idx;
				uint16_t qh = (uint16_t)(x[34 + 2 * (k / 4)] | x[35 + 2 * (k / 4)] << 8);
				qh |= (uint16_t)(((idx >> 8) & 7) << (3 * (k % 4)));
				put16(x + 34 + 2 * (k / 4), qh);
				break;
			}
			}
		}
	}
	dq(blocks, y, 256 * nblk);
	fwrite(&(uint32_t){(uint32_t)id}, 4, 1, f);
	put32(f, entries);
	put32(f, width);
	for (int e = 0; e < entries; e++) {
		for (int j = 0; j < width; j++) {
			float v = y[e * width + j];
			if (id == 19) v -= 0.125f;
			int iv = (int)v;
			if ((float)iv != v || iv < (id == 19 ? -128 : 0) || iv > 255) {
				fprintf(stderr, "type %d entry %d byte %d: %g is not a byte\n", id, e, j, y[e * width + j]);
				exit(1);
			}
			uint8_t byte = (uint8_t)iv;
			fwrite(&byte, 1, 1, f);
		}
	}
	free(blocks);
	free(y);
}

static void iq_files(const char *outdir, void *base, void *cpu) {
	char path[4096];
	row_size_fn row_size = sym(base, "ggml_row_size");
	traits_fn traits = sym(base, "ggml_get_type_traits");
	traits_cpu_fn traits_cpu = sym(cpu, "ggml_get_type_traits_cpu");
	((void (*)(void))sym(cpu, "ggml_cpu_init"))();
	rng_state = 0x1a51a51a5eed0001ull;

	for (int t = 0; t < NIQ; t++) {
		// The exported dequantize_row_* is the type's to_float.
		if ((void *)traits(iqtypes[t].id)->to_float != sym(base, iqtypes[t].dq)) {
			fprintf(stderr, "%s: to_float is not %s\n", iqtypes[t].name, iqtypes[t].dq);
			exit(1);
		}
		if ((size_t)iqtypes[t].size != row_size(iqtypes[t].id, 256)) {
			fprintf(stderr, "%s: block size mismatch\n", iqtypes[t].name);
			exit(1);
		}
	}

	// The codebooks.
	snprintf(path, sizeof path, "%s/iqgrids.bin", outdir);
	FILE *f = fopen(path, "wb");
	fwrite("GGIG", 1, 4, f);
	put32(f, 1);
	put32(f, 6);
	extract_grid(sym(base, "dequantize_row_iq2_xxs"), 16, 66, 256, 8, 32, f);
	extract_grid(sym(base, "dequantize_row_iq2_xs"), 17, 74, 512, 8, 32, f);
	extract_grid(sym(base, "dequantize_row_iq2_s"), 22, 82, 1024, 8, 32, f);
	extract_grid(sym(base, "dequantize_row_iq3_xxs"), 18, 98, 256, 4, 64, f);
	extract_grid(sym(base, "dequantize_row_iq3_s"), 21, 110, 512, 4, 64, f);
	extract_grid(sym(base, "dequantize_row_iq1_s"), 19, 50, 2048, 8, 32, f);
	fclose(f);

	// Dequantization of random blocks.
	enum { NDQ = 32 * 256 };
	for (int t = 0; t < NIQ; t++) {
		const struct iqtyp *ty = &iqtypes[t];
		size_t rb = row_size(ty->id, NDQ);
		uint8_t *raw = malloc(rb);
		float *dq = calloc(NDQ, 4);
		for (size_t i = 0; i < rb; i++) raw[i] = (uint8_t)next64();
		for (size_t b = 0; b < rb / ty->size; b++) set_scale(ty->id, raw + b * ty->size, any_finite_f16());
		((row_dq_fn)sym(base, ty->dq))(raw, dq, NDQ);
		snprintf(path, sizeof path, "%s/%s.bin", outdir, ty->name);
		f = fopen(path, "wb");
		fwrite("GGQV", 1, 4, f);
		put32(f, 1);
		put32(f, ty->id);
		put32(f, 0);
		put32(f, 0);
		put32(f, NDQ);
		put32(f, rb);
		fwrite(raw, 1, rb, f);
		fwrite(dq, 4, NDQ, f);
		fclose(f);
		free(raw);
		free(dq);
	}

	// Row dots against Q8_K activations, as the CPU backend's mul_mat runs them.
	enum { NCOLS = 2048, NACT = 4, NROWS = 16 };
	static float act[NACT * NCOLS];
	fill(act, NACT * NCOLS);
	const struct traits_cpu *q8k = traits_cpu(15);
	size_t ab = row_size(15, NCOLS);
	uint8_t *aq = calloc(NACT, ab);
	for (int a = 0; a < NACT; a++) q8k->from_float(act + a * NCOLS, aq + a * ab, NCOLS);
	snprintf(path, sizeof path, "%s/dots.bin", outdir);
	f = fopen(path, "wb");
	fwrite("GGQD", 1, 4, f);
	put32(f, 1);
	put32(f, NCOLS);
	put32(f, NACT);
	fwrite(act, 4, NACT * NCOLS, f);
	put32(f, ab);
	fwrite(aq, 1, NACT * ab, f);
	put32(f, NIQ);
	for (int t = 0; t < NIQ; t++) {
		const struct iqtyp *ty = &iqtypes[t];
		const struct traits_cpu *tc = traits_cpu(ty->id);
		if (tc->vec_dot_type != 15 || tc->nrows != 1) {
			fprintf(stderr, "%s: vec_dot_type %d nrows %lld\n", ty->name, tc->vec_dot_type, (long long)tc->nrows);
			exit(1);
		}
		vec_dot_fn generic = sym(cpu, ty->dot);
		size_t rb = row_size(ty->id, NCOLS);
		uint8_t *w = malloc(NROWS * rb);
		for (size_t i = 0; i < NROWS * rb; i++) w[i] = (uint8_t)next64();
		for (size_t b = 0; b < NROWS * rb / ty->size; b++) set_scale(ty->id, w + b * ty->size, moderate_f16());
		static float simd[NROWS * NACT], ref[NROWS * NACT];
		for (int r = 0; r < NROWS; r++) {
			for (int a = 0; a < NACT; a++) {
				tc->vec_dot(NCOLS, &simd[r * NACT + a], 0, w + r * rb, 0, aq + a * ab, 0, 1);
				generic(NCOLS, &ref[r * NACT + a], 0, w + r * rb, 0, aq + a * ab, 0, 1);
			}
		}
		put32(f, ty->id);
		put32(f, NROWS);
		put32(f, rb);
		fwrite(w, 1, NROWS * rb, f);
		fwrite(simd, 4, NROWS * NACT, f);
		fwrite(ref, 4, NROWS * NACT, f);
		free(w);
	}
	fclose(f);
	free(aq);
}

int main(int argc, char **argv) {
	if (argc != 3 && !(argc == 4 && strcmp(argv[3], "iq") == 0)) {
		fprintf(stderr, "usage: oracle LIBDIR OUTDIR [iq]\n");
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/libggml-base.so", argv[1]);
	base = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!base) { fprintf(stderr, "%s\n", dlerror()); return 1; }
	snprintf(path, sizeof path, "%s/libggml-cpu-zen4.so", argv[1]);
	cpu = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!cpu) { fprintf(stderr, "%s\n", dlerror()); return 1; }

	if (argc == 4) {
		iq_files(argv[2], base, cpu);
		return 0;
	}

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

	iq_files(argv[2], base, cpu);
	return 0;
}

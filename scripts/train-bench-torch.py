#!/usr/bin/env python3
"""Training-speed reference for internal/train: the same llama-architecture
model, batch and optimizer step in PyTorch on the CPU, printing tokens/s.

Like for like with `go test ./internal/train -bench TrainStep`:
  - shape: vocab 512, dim 192, 4 layers, 6 heads (head dim 32), 6 KV heads,
    SwiGLU FFN 512, RMSNorm eps 1e-5, RoPE base 10000 on adjacent pairs
    (the GGUF llama convention), untied output head, no biases, fp32;
  - batch: 16 sequences x 256 tokens of random ids, next-token cross entropy
    averaged over the 16x255 predicted positions;
  - step: forward, backward, gradient-norm clipping at 1.0, AdamW
    (lr 1e-3, betas 0.9/0.95, weight decay 0.1), zero_grad.
Attention is F.scaled_dot_product_attention(is_causal=True) when this torch
has it (2.0+); Debian 12's torch 1.13 does not, so there it is the plain
q k^T / sqrt(d) + causal mask -> softmax -> @ v.

Usage: train-bench-torch.py [--threads T] [--steps N] [--warmup W]
Prints one line: "torch tokens/s: X (T threads, N steps, median step S ms)".
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, DIM, LAYERS, HEADS, KV_HEADS, FFN = 512, 192, 4, 6, 6, 512
HEAD_DIM = DIM // HEADS
EPS, THETA = 1e-5, 10000.0
BATCH, SEQ = 16, 256


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


def rope_tables(n):
    inv = THETA ** (-torch.arange(0, HEAD_DIM, 2, dtype=torch.float32) / HEAD_DIM)
    ang = torch.arange(n, dtype=torch.float32)[:, None] * inv[None, :]  # [n][hd/2]
    return ang.cos(), ang.sin()


def rope(x, cos, sin):
    # x: [b][h][n][hd]; rotate adjacent pairs (x[2i], x[2i+1]).
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1)
    return out.flatten(-2)


def attention(q, k, v):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    n = q.shape[-2]
    s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(HEAD_DIM))
    mask = torch.ones(n, n, dtype=torch.bool).triu(1)
    s = s.masked_fill(mask, float("-inf"))
    return s.softmax(-1) @ v


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn_norm = RMSNorm(DIM)
        self.q = nn.Linear(DIM, HEADS * HEAD_DIM, bias=False)
        self.k = nn.Linear(DIM, KV_HEADS * HEAD_DIM, bias=False)
        self.v = nn.Linear(DIM, KV_HEADS * HEAD_DIM, bias=False)
        self.o = nn.Linear(HEADS * HEAD_DIM, DIM, bias=False)
        self.ffn_norm = RMSNorm(DIM)
        self.gate = nn.Linear(DIM, FFN, bias=False)
        self.up = nn.Linear(DIM, FFN, bias=False)
        self.down = nn.Linear(FFN, DIM, bias=False)

    def forward(self, x, cos, sin):
        b, n, _ = x.shape
        h = self.attn_norm(x)
        q = self.q(h).view(b, n, HEADS, HEAD_DIM).transpose(1, 2)
        k = self.k(h).view(b, n, KV_HEADS, HEAD_DIM).transpose(1, 2)
        v = self.v(h).view(b, n, KV_HEADS, HEAD_DIM).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        if KV_HEADS != HEADS:
            k = k.repeat_interleave(HEADS // KV_HEADS, dim=1)
            v = v.repeat_interleave(HEADS // KV_HEADS, dim=1)
        a = attention(q, k, v).transpose(1, 2).reshape(b, n, HEADS * HEAD_DIM)
        x = x + self.o(a)
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.embd = nn.Embedding(VOCAB, DIM)
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.norm = RMSNorm(DIM)
        self.out = nn.Linear(DIM, VOCAB, bias=False)
        cos, sin = rope_tables(SEQ)
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)

    def forward(self, ids):
        x = self.embd(ids)
        cos, sin = self.cos[: ids.shape[1]], self.sin[: ids.shape[1]]
        for blk in self.blocks:
            x = blk(x, cos, sin)
        return self.out(self.norm(x))


def blas_library():
    """The BLAS shared library this process loaded (Debian's torch takes
    whichever libblas.so.3 the alternatives system points at)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return ",".join(sorted(libs)) or "none found"
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = Llama()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    ids = torch.randint(0, VOCAB, (BATCH, SEQ))
    times = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    step = statistics.median(times)
    tokens = BATCH * SEQ  # tokens per step, counted as the Go benchmark counts them
    sdpa = "sdpa" if hasattr(F, "scaled_dot_product_attention") else "matmul+softmax attention"
    print(f"torch tokens/s: {tokens / step:.0f} ({args.threads} threads, {args.steps} steps, "
          f"median step {step * 1000:.1f} ms, torch {torch.__version__}, {sdpa}, BLAS {blas_library()})")


if __name__ == "__main__":
    main()

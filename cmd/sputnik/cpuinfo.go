package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/cpu"

	"github.com/sputnik-llm/sputnik/internal/kernel"
)

// cpuFacts describes the processor a benchmark ran on: what a reader needs
// to compare figures across machines.
type cpuFacts struct {
	Model  string `json:"model"`  // brand string, e.g. "AMD EPYC 9654 96-Core Processor"
	Family string `json:"family"` // x86 family and model numbers, when known ("25/17")
	CPUs   int    `json:"cpus"`   // CPUs this process may use
	AVX512 bool   `json:"avx512"` // AVX-512 F, BW and VL
	VNNI   bool   `json:"vnni"`   // AVX512_VNNI
	BF16   bool   `json:"bf16"`   // AVX512_BF16
	AMX    bool   `json:"amx"`    // AMX tiles with int8 (reported by CPUID; Sputnik has no AMX kernels)
	Path   string `json:"kernel_path"`
}

// readCPUFacts reads the CPU's name from /proc/cpuinfo where there is one
// and its features from CPUID.
func readCPUFacts() cpuFacts {
	c := cpuFacts{
		Model:  runtime.GOARCH,
		CPUs:   runtime.NumCPU(),
		AVX512: cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL,
		VNNI:   cpu.X86.HasAVX512VNNI,
		BF16:   cpu.X86.HasAVX512BF16,
		AMX:    cpu.X86.HasAMXTile && cpu.X86.HasAMXInt8,
		Path:   kernel.Path(),
	}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return c
	}
	defer f.Close()
	var family, model string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			if family != "" || model != "" { // the first processor is enough
				break
			}
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			c.Model = strings.Join(strings.Fields(v), " ")
		case "cpu family":
			family = strings.TrimSpace(v)
		case "model":
			model = strings.TrimSpace(v)
		}
	}
	if family != "" && model != "" {
		c.Family = family + "/" + model
	}
	return c
}

// String is the one-line header of a benchmark table.
func (c cpuFacts) String() string {
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	name := c.Model
	if c.Family != "" {
		name += " (family/model " + c.Family + ")"
	}
	return fmt.Sprintf("CPU: %s, %d CPUs; AVX-512 %s, VNNI %s, BF16 %s, AMX %s; kernels: %s",
		name, c.CPUs, yes(c.AVX512), yes(c.VNNI), yes(c.BF16), yes(c.AMX), c.Path)
}

package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rmbgd/rmbgd/kernels/cpu"
	"github.com/rmbgd/rmbgd/models"
	"github.com/rmbgd/rmbgd/tensor"
)

// CPUBackend runs a plan with the kernels of package kernels/cpu. Every
// activation lives in one arena. Each batch size from 1 to MaxBatch has a
// memory plan of its own in that arena, laid out after the convolution
// scratch space, so a batch touches, and the wipe after it clears, only
// the memory its size needs.
type CPUBackend struct {
	plan    *models.Plan
	steps   []cpuStep
	pool    *cpu.Pool
	arena   *tensor.Arena
	offsets [][]int // per batch size, per plan value: element offset after the scratch
	used    []int   // per batch size: elements in use, scratch included
	scratch []float32

	// inPlace holds, for each plan value that a batch of one image
	// computes straight into its place in a concatenation's output, that
	// output's value, and −1 for every other value. The concatenation then
	// copies nothing for it (see concatInPlace).
	inPlace  []int
	maxBatch int

	// idle holds a token while no run uses the arena and no wipe is in
	// progress. Run takes it, and the wipe that follows the run puts it
	// back.
	idle chan struct{}
}

type cpuStep struct {
	step *models.Step
	conv *cpu.Conv
	in   []models.Value
	out  models.Value
}

// NewCPUBackend compiles plan for batches of up to maxBatch images on
// threads workers (0: one per core).
func NewCPUBackend(plan *models.Plan, maxBatch, threads int) (*CPUBackend, error) {
	if maxBatch < 1 {
		maxBatch = 1
	}
	b := &CPUBackend{plan: plan, maxBatch: maxBatch, idle: make(chan struct{}, 1)}
	b.idle <- struct{}{}

	scratch := 0
	for i := range plan.Steps {
		s, err := compileStep(plan, &plan.Steps[i])
		if err != nil {
			return nil, err
		}
		if s.conv != nil {
			scratch = max(scratch, s.conv.ScratchFloats(s.in[0].H, s.in[0].W))
		}
		b.steps = append(b.steps, s)
	}

	b.offsets = make([][]int, maxBatch+1)
	b.used = make([]int, maxBatch+1)
	size := 0
	for n := 1; n <= maxBatch; n++ {
		lives := lifetimes(plan, n)
		var inPlace []inPlaceValue
		if n == 1 {
			inPlace = concatInPlace(plan, lives)
		}
		placement, err := tensor.PlanMemory(lives)
		if err != nil {
			return nil, fmt.Errorf("plan activation memory for a batch of %d: %w", n, err)
		}
		if n == 1 {
			b.inPlace = make([]int, len(plan.Values))
			for i := range b.inPlace {
				b.inPlace[i] = -1
			}
			for _, v := range inPlace {
				placement.Offsets[v.value] = placement.Offsets[v.concat] + v.offset
				b.inPlace[v.value] = v.concat
			}
		}
		b.offsets[n] = placement.Offsets
		b.used[n] = scratch + placement.Total
		size = max(size, b.used[n])
	}
	arena, err := tensor.NewArena(size)
	if err != nil {
		return nil, err
	}
	b.arena = arena
	b.scratch = arena.Slice(0, scratch)
	b.pool = cpu.NewPool(threads)
	return b, nil
}

// compileStep checks one step's shapes and packs a convolution's weights.
func compileStep(plan *models.Plan, step *models.Step) (cpuStep, error) {
	s := cpuStep{step: step, out: plan.Values[step.Output]}
	for _, v := range step.Inputs {
		s.in = append(s.in, plan.Values[v])
	}
	if len(s.in) == 0 {
		return s, fmt.Errorf("step %s (%v): no inputs", step.Name, step.Op)
	}
	if step.Op != models.OpConv {
		return s, nil
	}

	a := step.Conv
	conv, err := cpu.NewConv(cpu.ConvParams{
		InC: a.InC, OutC: a.OutC, KH: a.KH, KW: a.KW,
		StrideH: a.StrideH, StrideW: a.StrideW,
		PadTop: a.PadTop, PadLeft: a.PadLeft, PadBottom: a.PadBottom, PadRight: a.PadRight,
		DilationH: a.DilationH, DilationW: a.DilationW,
		ReLU: a.ReLU,
	}, a.Weight, a.Bias)
	if err != nil {
		return s, fmt.Errorf("step %s: %w", step.Name, err)
	}
	oh, ow := conv.Params().OutSize(s.in[0].H, s.in[0].W)
	if s.in[0].C != a.InC || s.out.C != a.OutC || s.out.H != oh || s.out.W != ow {
		return s, fmt.Errorf("step %s: conv %dx%dx%d -> %dx%dx%d does not match its values",
			step.Name, s.in[0].C, s.in[0].H, s.in[0].W, s.out.C, s.out.H, s.out.W)
	}
	s.conv = conv
	return s, nil
}

// lifetimes lists when each plan value is alive: written by its step, read
// until its last consumer. The input is alive from before the first step and
// the output until after the last, because the caller copies them.
func lifetimes(plan *models.Plan, batch int) []tensor.Lifetime {
	lives := make([]tensor.Lifetime, len(plan.Values))
	for i, v := range plan.Values {
		lives[i] = tensor.Lifetime{Size: batch * v.C * v.H * v.W, First: -1, Last: -1}
	}
	for i, s := range plan.Steps {
		lives[s.Output].First = i
		lives[s.Output].Last = max(lives[s.Output].Last, i)
		for _, v := range s.Inputs {
			lives[v].Last = max(lives[v].Last, i)
		}
	}
	lives[plan.Input].First = -1
	lives[plan.Output].Last = len(plan.Steps)
	return lives
}

// inPlaceValue is a value that a batch of one image computes straight into
// its concatenation's output, offset elements from that output's start.
type inPlaceValue struct {
	value, concat, offset int
}

// concatInPlace finds the concatenation inputs that a batch of one image
// can compute in place, and changes lives to match. Such an input takes no
// memory of its own. The concatenation's output then lives from the first
// of those inputs' steps on, and for as long as any of them is read. For
// one image a concatenation along channels is the inputs laid end to end,
// so the copy then has nothing left to do. For a larger batch each image's
// channels are interleaved with the other images', and every input is
// copied.
//
// An input qualifies when all of these hold:
//   - a step other than a concatenation writes it;
//   - it is neither the plan's input nor its output;
//   - its place starts on an aligned boundary;
//   - it appears once among the concatenation's inputs;
//   - no earlier concatenation took it.
//
// Other steps may read it too, before or after the concatenation. They
// read it inside the concatenation's output, which no other step writes.
func concatInPlace(plan *models.Plan, lives []tensor.Lifetime) []inPlaceValue {
	writer := make([]int, len(plan.Values))
	for i := range writer {
		writer[i] = -1
	}
	for i, s := range plan.Steps {
		writer[s.Output] = i
	}

	var found []inPlaceValue
	placed := make([]bool, len(plan.Values)) // taken by a concatenation
	for _, s := range plan.Steps {
		if s.Op != models.OpConcat {
			continue
		}
		offset := 0
		for k, v := range s.Inputs {
			w := writer[v]
			if w >= 0 && plan.Steps[w].Op != models.OpConcat && !placed[v] &&
				v != plan.Input && v != plan.Output && offset%tensor.Align == 0 &&
				slices.Index(s.Inputs, v) == k && !slices.Contains(s.Inputs[k+1:], v) {
				placed[v] = true
				found = append(found, inPlaceValue{value: v, concat: s.Output, offset: offset})
				out := &lives[s.Output]
				out.First = min(out.First, lives[v].First)
				out.Last = max(out.Last, lives[v].Last)
				lives[v].Size = 0
			}
			offset += plan.Values[v].Elems()
		}
	}
	return found
}

// Name returns "cpu".
func (b *CPUBackend) Name() string { return "cpu" }

// MaxBatch returns the largest batch size the arena was planned for.
func (b *CPUBackend) MaxBatch() int { return b.maxBatch }

// Threads returns the number of kernel workers.
func (b *CPUBackend) Threads() int { return b.pool.Workers() }

// ArenaBytes returns the size of the activation arena.
func (b *CPUBackend) ArenaBytes() int { return b.arena.Bytes() }

// Run executes the plan on a batch of n images. It checks ctx between
// steps, so a cancelled run stops within one layer. Runs are serialized.
//
// The activations are derived from the images, so every run is followed by
// a wipe of the part of the arena that its batch size uses, on all kernel
// workers. The wipe of the ISNet arena takes milliseconds to tens of
// milliseconds, by the machine's memory bandwidth. It starts when Run returns, so it
// overlaps the caller's post-processing, and the next Run and Close wait
// for it. The returned duration covers the forward pass alone.
func (b *CPUBackend) Run(ctx context.Context, in, out []float32, n int) (time.Duration, error) {
	if n < 1 || n > b.maxBatch {
		return 0, fmt.Errorf("batch of %d images, backend takes 1 to %d", n, b.maxBatch)
	}
	input := b.value(b.plan.Input, n)
	output := b.value(b.plan.Output, n)
	if len(in) != len(input) || len(out) != len(output) {
		return 0, fmt.Errorf("batch of %d needs %d input and %d output floats, got %d and %d",
			n, len(input), len(output), len(in), len(out))
	}

	// TODO: under a closed loop on 2 cores this waits 15 to 20 ms a batch
	// for the last wipe, against 9 ms alone, because the wipe shares the
	// cores with the finished batch's masks and encoders.
	<-b.idle
	defer func() { go b.wipe(b.used[n]) }()
	start := time.Now()
	copy(input, in)
	for i := range b.steps {
		if err := ctx.Err(); err != nil {
			return time.Since(start), err
		}
		b.runStep(&b.steps[i], n)
	}
	copy(out, output)
	return time.Since(start), nil
}

// wipe zeroes the first used elements of the arena, all that a run wrote,
// and hands the idle token back.
func (b *CPUBackend) wipe(used int) {
	cpu.Zero(b.pool, b.arena.Floats()[:used])
	b.idle <- struct{}{}
}

// value returns the arena region of plan value v for a batch of n images.
func (b *CPUBackend) value(v, n int) []float32 {
	val := b.plan.Values[v]
	return b.arena.Slice(len(b.scratch)+b.offsets[n][v], n*val.C*val.H*val.W)
}

func (b *CPUBackend) runStep(s *cpuStep, n int) {
	st := s.step
	dst := b.value(st.Output, n)
	src := b.value(st.Inputs[0], n)
	in := s.in[0]

	switch st.Op {
	case models.OpConv:
		s.conv.Run(b.pool, dst, src, b.scratch, n, in.H, in.W)
	case models.OpMaxPool:
		p := cpu.PoolParams{KH: st.Pool.KH, KW: st.Pool.KW,
			StrideH: st.Pool.StrideH, StrideW: st.Pool.StrideW, CeilMode: st.Pool.CeilMode}
		cpu.MaxPool(b.pool, dst, src, p, n, in.C, in.H, in.W)
	case models.OpResize:
		cpu.ResizeBilinear(b.pool, dst, src, n, in.C, in.H, in.W, s.out.H, s.out.W)
	case models.OpConcat:
		b.concat(s, dst, n)
	case models.OpAdd:
		cpu.Add(b.pool, dst, src, b.value(st.Inputs[1], n))
	case models.OpSigmoid:
		cpu.Sigmoid(b.pool, dst, src)
	case models.OpRelu:
		cpu.ReLU(b.pool, dst, src)
	default:
		// The importer rejects every other op, so this is a bug.
		panic(fmt.Sprintf("engine: step %s has unsupported op %v", st.Name, st.Op))
	}
}

// concat copies each input's per-image channel block into place along the
// channel axis.
func (b *CPUBackend) concat(s *cpuStep, dst []float32, n int) {
	outImage := s.out.C * s.out.H * s.out.W
	at := 0
	for k, v := range s.step.Inputs {
		src := b.value(v, n)
		size := s.in[k].C * s.in[k].H * s.in[k].W
		if n == 1 && b.inPlace[v] == s.step.Output {
			at += size
			continue
		}
		for img := 0; img < n; img++ {
			copy(dst[img*outImage+at:img*outImage+at+size], src[img*size:(img+1)*size])
		}
		at += size
	}
}

// Close wipes and releases the arena and stops the kernel workers.
func (b *CPUBackend) Close() error {
	<-b.idle // the last wipe has finished
	b.pool.Close()
	return b.arena.Close()
}

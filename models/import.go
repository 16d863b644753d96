package models

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Supported default-domain opset range. Opset 11 is the first whose Resize
// takes sizes and half_pixel; 21 is the newest whose semantics for these
// operators were checked.
const (
	minOpset = 11
	maxOpset = 21
)

// LoadPlan reads the ONNX model at path and folds it into a Plan for inputs
// of side×side pixels. See ParsePlan for what it accepts.
func LoadPlan(path string, side int) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load plan: %w", err)
	}
	p, err := ParsePlan(data, side)
	if err != nil {
		return nil, fmt.Errorf("load plan %s: %w", path, err)
	}
	return p, nil
}

// ParsePlan decodes a serialized ONNX model and folds it into a Plan for
// inputs of side×side pixels (batch and channels as the graph declares).
//
// Shape arithmetic (Shape, Slice, Concat on integers, Constant, Cast) is
// evaluated at import with a batch of one. That is sound for any batch
// because folded integers may only feed the sizes of a Resize, which must
// keep the batch and channel dimensions. Casts between float types are
// identities, because the plan computes in float32 throughout. Nodes that do
// not contribute to the first graph output are dropped, and a Conv whose
// only consumer is a Relu absorbs it.
//
// An unsupported operator, attribute, data type or opset is an error that
// names the node. The returned Plan shares no memory with data.
func ParsePlan(data []byte, side int) (*Plan, error) {
	return parsePlan(data, side, nil)
}

// weightFiller supplies the elements of a float initializer that a file
// stores without data (see LoadSkeleton). role is "weight" or "bias";
// fanIn is InC×KH×KW of the convolution using it.
type weightFiller func(name, role string, dst []float32, fanIn int)

func parsePlan(data []byte, side int, fill weightFiller) (*Plan, error) {
	b, err := fold(data, side)
	if err != nil {
		return nil, err
	}
	b.fill = fill
	return b.finish()
}

// fold decodes a model and folds every node, dead or not, into b.plan.
func fold(data []byte, side int) (*builder, error) {
	if side <= 0 || side > 1<<15 {
		return nil, fmt.Errorf("invalid input side %d", side)
	}
	m, err := parseModel(data)
	if err != nil {
		return nil, fmt.Errorf("parse onnx: %w", err)
	}
	if err := checkOpsets(m); err != nil {
		return nil, err
	}
	if err := checkOps(&m.Graph); err != nil {
		return nil, err
	}
	order, err := sortNodes(&m.Graph)
	if err != nil {
		return nil, err
	}
	b, err := newBuilder(&m.Graph, side)
	if err != nil {
		return nil, err
	}
	for _, i := range order {
		if err := b.node(&m.Graph.Nodes[i]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func checkOpsets(m *onnxModel) error {
	found := false
	for _, o := range m.Opsets {
		if o.Domain != "" && o.Domain != "ai.onnx" {
			continue
		}
		found = true
		if o.Version < minOpset || o.Version > maxOpset {
			return fmt.Errorf("unsupported opset %d: supported are %d to %d",
				o.Version, minOpset, maxOpset)
		}
	}
	if !found {
		return errors.New("model declares no default-domain opset")
	}
	return nil
}

// sortNodes returns the node indices of g in a topological order (Kahn's
// algorithm, keeping file order among nodes that are ready together).
func sortNodes(g *onnxGraph) ([]int, error) {
	producer := make(map[string]int, len(g.Nodes))
	for i := range g.Nodes {
		for _, out := range g.Nodes[i].Outputs {
			if out == "" {
				continue
			}
			if j, dup := producer[out]; dup {
				return nil, fmt.Errorf("tensor %q is the output of both node %s and node %s",
					out, nodeLabel(&g.Nodes[j]), nodeLabel(&g.Nodes[i]))
			}
			producer[out] = i
		}
	}
	external := make(map[string]bool, len(g.Inputs)+len(g.Initializers))
	for _, v := range g.Inputs {
		external[v.Name] = true
	}
	for _, t := range g.Initializers {
		external[t.Name] = true
	}

	pending := make([]int, len(g.Nodes)) // unmet inputs per node
	users := make([][]int, len(g.Nodes))
	for i := range g.Nodes {
		n := &g.Nodes[i]
		for _, in := range n.Inputs {
			if in == "" || external[in] {
				continue
			}
			j, ok := producer[in]
			if !ok {
				return nil, fmt.Errorf("node %s: input %q is not a graph input, an initializer "+
					"or the output of any node", nodeLabel(n), in)
			}
			pending[i]++
			users[j] = append(users[j], i)
		}
	}

	order := make([]int, 0, len(g.Nodes))
	for i := range g.Nodes {
		if pending[i] == 0 {
			order = append(order, i)
		}
	}
	for k := 0; k < len(order); k++ {
		for _, u := range users[order[k]] {
			pending[u]--
			if pending[u] == 0 {
				order = append(order, u)
			}
		}
	}
	if len(order) != len(g.Nodes) {
		for i := range g.Nodes {
			if pending[i] > 0 {
				return nil, fmt.Errorf("node %s is part of a cycle", nodeLabel(&g.Nodes[i]))
			}
		}
	}
	return order, nil
}

// nodeLabel names a node in errors: its name and op_type, or for an unnamed
// node its first output.
func nodeLabel(n *onnxNode) string {
	if n.Name == "" && len(n.Outputs) > 0 {
		return fmt.Sprintf("(%s) writing %q", n.OpType, n.Outputs[0])
	}
	return fmt.Sprintf("%q (%s)", n.Name, n.OpType)
}

// stepName is the name a node's step carries: the node name, or its first
// output's when the node is unnamed.
func stepName(n *onnxNode) string {
	if n.Name == "" && len(n.Outputs) > 0 {
		return n.Outputs[0]
	}
	return n.Name
}

// checkOps rejects a graph using operators the importer lacks, listing all of
// them at once with the number of nodes and the first node of each.
func checkOps(g *onnxGraph) error {
	type usage struct {
		count int
		first *onnxNode
	}
	var missing []string
	seen := map[string]*usage{}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		key := n.OpType
		if n.Domain != "" && n.Domain != "ai.onnx" {
			key = n.Domain + "." + n.OpType
		} else if supportedOps[n.OpType] {
			continue
		}
		u := seen[key]
		if u == nil {
			u = &usage{first: n}
			seen[key] = u
			missing = append(missing, key)
		}
		u.count++
	}
	if len(missing) == 0 {
		return nil
	}
	parts := make([]string, len(missing))
	for i, key := range missing {
		u := seen[key]
		parts[i] = fmt.Sprintf("%s (%d nodes, first %s)", key, u.count, nodeLabel(u.first))
	}
	return fmt.Errorf("unsupported operators: %s", strings.Join(parts, ", "))
}

// symbol is the folded form of a tensor name: a constant, or an activation
// in a plan value.
type symbol struct {
	c     *constTensor // nil for an activation
	value int
}

// builder folds nodes in topological order into plan steps.
type builder struct {
	side  int
	syms  map[string]symbol
	plan  Plan
	batch int64 // the batch size Shape folds to
	fill  weightFiller
	convs map[*ConvAttrs]convSource
}

func newBuilder(g *onnxGraph, side int) (*builder, error) {
	b := &builder{side: side, syms: make(map[string]symbol), batch: 1}
	for i := range g.Initializers {
		t := &g.Initializers[i]
		c, err := newConst(t)
		if err != nil {
			return nil, fmt.Errorf("initializer: %w", err)
		}
		b.syms[t.Name] = symbol{c: c}
	}

	var input *onnxValueInfo
	for i := range g.Inputs {
		if _, isInit := b.syms[g.Inputs[i].Name]; isInit {
			continue // an initializer listed as an input (IR version < 4)
		}
		if input != nil {
			return nil, fmt.Errorf("graph has more than one input (%q, %q): one is supported",
				input.Name, g.Inputs[i].Name)
		}
		input = &g.Inputs[i]
	}
	if input == nil {
		return nil, errors.New("graph has no input")
	}
	if input.ElemType != dtypeFloat && input.ElemType != dtypeFloat16 {
		return nil, fmt.Errorf("input %q: unsupported element type %s",
			input.Name, dtypeName(input.ElemType))
	}
	if len(input.Dims) != 4 {
		return nil, fmt.Errorf("input %q: rank %d, expected 4 (NCHW)", input.Name, len(input.Dims))
	}
	c := input.Dims[1].Value
	if c <= 0 || c > 1<<16 {
		return nil, fmt.Errorf("input %q: channel dimension must be a positive constant",
			input.Name)
	}
	b.plan.Side = side
	b.plan.InputName = input.Name
	b.plan.Input = b.addValue(input.Name, int(c), side, side)
	b.syms[input.Name] = symbol{value: b.plan.Input}

	if len(g.Outputs) == 0 {
		return nil, errors.New("graph has no output")
	}
	b.plan.OutputName = g.Outputs[0].Name
	return b, nil
}

func (b *builder) addValue(name string, c, h, w int) int {
	b.plan.Values = append(b.plan.Values, Value{Name: name, C: c, H: h, W: w})
	return len(b.plan.Values) - 1
}

// finish resolves the graph output, drops dead steps, fuses Conv+Relu,
// decodes the weights the remaining convolutions use and numbers the values.
func (b *builder) finish() (*Plan, error) {
	out, ok := b.syms[b.plan.OutputName]
	if !ok {
		return nil, fmt.Errorf("graph output %q is not produced by any node", b.plan.OutputName)
	}
	if out.c != nil {
		return nil, fmt.Errorf("graph output %q is a constant", b.plan.OutputName)
	}
	b.plan.Output = out.value

	p := &b.plan
	eliminateDead(p)
	fuseConvRelu(p)
	compactValues(p)
	for i := range p.Steps {
		s := &p.Steps[i]
		if s.Conv == nil {
			continue
		}
		if err := b.loadWeights(s); err != nil {
			return nil, err
		}
		o := p.Values[s.Output]
		p.MACs += s.Conv.MACs(o.H, o.W)
	}
	return p, nil
}

// eliminateDead keeps only the steps the output depends on.
func eliminateDead(p *Plan) {
	live := make([]bool, len(p.Values))
	live[p.Output] = true
	keep := make([]bool, len(p.Steps))
	for i := len(p.Steps) - 1; i >= 0; i-- {
		s := &p.Steps[i]
		if !live[s.Output] {
			continue
		}
		keep[i] = true
		for _, in := range s.Inputs {
			live[in] = true
		}
	}
	p.Steps = filterSteps(p.Steps, keep)
}

// filterSteps returns the steps whose keep entry is true, in order.
func filterSteps(steps []Step, keep []bool) []Step {
	out := steps[:0]
	for i, s := range steps {
		if keep[i] {
			out = append(out, s)
		}
	}
	return out
}

// fuseConvRelu folds each Relu into the Conv before it when the Relu is the
// conv output's only reader and that output is not the plan's output.
func fuseConvRelu(p *Plan) {
	readers := make([]int, len(p.Values))
	producer := make([]int, len(p.Values))
	for i := range producer {
		producer[i] = -1
	}
	for i := range p.Steps {
		for _, in := range p.Steps[i].Inputs {
			readers[in]++
		}
		producer[p.Steps[i].Output] = i
	}
	keep := make([]bool, len(p.Steps))
	for i := range p.Steps {
		s := &p.Steps[i]
		keep[i] = true
		if s.Op != OpRelu {
			continue
		}
		in := s.Inputs[0]
		j := producer[in]
		if j < 0 || p.Steps[j].Op != OpConv || readers[in] != 1 || in == p.Output {
			continue
		}
		conv := &p.Steps[j]
		conv.Conv.ReLU = true
		conv.Output = s.Output
		keep[i] = false
	}
	p.Steps = filterSteps(p.Steps, keep)
}

// compactValues drops values no step reads or writes and renumbers the rest
// in order of first appearance, the input first.
func compactValues(p *Plan) {
	index := make([]int, len(p.Values))
	for i := range index {
		index[i] = -1
	}
	var values []Value
	use := func(v int) int {
		if index[v] < 0 {
			index[v] = len(values)
			values = append(values, p.Values[v])
		}
		return index[v]
	}
	p.Input = use(p.Input)
	for i := range p.Steps {
		s := &p.Steps[i]
		for k, in := range s.Inputs {
			s.Inputs[k] = use(in)
		}
		s.Output = use(s.Output)
	}
	p.Output = use(p.Output)
	p.Values = values
}

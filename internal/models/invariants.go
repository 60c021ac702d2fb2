package models

import (
	"context"

	"github.com/sputnik-llm/sputnik/internal/invariants"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/model/deepseek2"
)

// checked returns m itself or, in builds with -tags invariants, m made to
// panic on a NaN or an infinity in any forward pass: in the residual stream
// after the attention and after the whole of each layer ("ffn_inp",
// "l_out") where the model has a trace hook (deepseek2, unless a hook is
// already set), and in the logits of every model. The dense models check
// their residual stream after each layer themselves (model/dense).
func checked(m model.Model) model.Model {
	if !invariants.Enabled {
		return m
	}
	if d, ok := m.(*deepseek2.Model); ok && d.Trace == nil {
		d.Trace = func(name string, layer int, x []float32) {
			if name == "ffn_inp" || name == "l_out" {
				invariants.Finite(name, layer, x)
			}
		}
	}
	return finiteLogits{m}
}

// finiteLogits checks the logits of every forward pass of the Model.
type finiteLogits struct{ model.Model }

// Unwrap returns the checked model.
func (c finiteLogits) Unwrap() model.Model { return c.Model }

func (c finiteLogits) Forward(ctx context.Context, st model.State, b *model.Batch, logits []float32) error {
	n := b.LogitRows() * c.Info().VocabSize
	if err := c.Model.Forward(ctx, st, b, logits); err != nil {
		return err
	}
	invariants.Finite("logits", -1, logits[:n])
	return nil
}

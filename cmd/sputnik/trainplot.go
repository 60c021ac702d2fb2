package main

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/sputnik-llm/sputnik/internal/train/recipe"
)

// writePlot draws a run's history as a PNG: held-out accuracy over all
// steps (SFT, then GRPO) and the mean GRPO reward, with the phase boundary
// marked.
func writePlot(path, name string, h []recipe.Point) error {
	p := plot.New()
	p.Title.Text = name + ": SFT, then GRPO"
	p.X.Label.Text = "step (SFT steps, then GRPO steps)"
	p.Y.Label.Text = "fraction"
	p.Y.Min, p.Y.Max = 0, 1.15
	var acc, reward plotter.XYs
	boundary := -1.0
	for i, pt := range h {
		x := float64(i + 1)
		if pt.Phase == "grpo" {
			if boundary < 0 {
				boundary = x - 0.5
			}
			reward = append(reward, plotter.XY{X: x, Y: pt.Reward})
		}
		if pt.Accuracy >= 0 {
			acc = append(acc, plotter.XY{X: x, Y: pt.Accuracy})
		}
	}
	if len(acc) > 0 {
		l, pts, err := plotter.NewLinePoints(acc)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		l.Color, pts.Color = plotColor(0), plotColor(0)
		p.Add(l, pts)
		p.Legend.Add("held-out accuracy (greedy)", l, pts)
	}
	if len(reward) > 0 {
		l, err := plotter.NewLine(reward)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		l.Color = plotColor(1)
		p.Add(l)
		p.Legend.Add("GRPO mean reward (1 correct, 0.1 well-formed only)", l)
	}
	if boundary > 0 {
		v, err := plotter.NewLine(plotter.XYs{{X: boundary, Y: 0}, {X: boundary, Y: 1.15}})
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		v.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(v)
		p.Legend.Add("SFT → GRPO", v)
	}
	p.Legend.Top, p.Legend.Left = false, true
	p.Legend.YOffs = vg.Points(20)
	p.Add(plotter.NewGrid())
	if err := p.Save(8*vg.Inch, 4.5*vg.Inch, path); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// plotColor returns the i-th series colour.
func plotColor(i int) color.Color {
	return []color.Color{
		color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	}[i]
}

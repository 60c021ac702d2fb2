package main

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sputnik-llm/sputnik/internal/train/recipe"
)

// writePlot draws a run's history as a PNG of two panels: SFT (training
// loss and held-out accuracy over SFT steps) and GRPO (mean reward of the
// sampled completions and held-out accuracy over GRPO steps).
func writePlot(path, name string, h []recipe.Point) error {
	var loss, sftAcc, reward, grpoAcc plotter.XYs
	for _, pt := range h {
		x := float64(pt.Step)
		switch pt.Phase {
		case "sft":
			loss = append(loss, plotter.XY{X: x, Y: pt.Loss})
			if pt.Accuracy >= 0 {
				sftAcc = append(sftAcc, plotter.XY{X: x, Y: pt.Accuracy})
			}
		case "grpo":
			if len(grpoAcc) == 0 && len(sftAcc) > 0 {
				// GRPO starts from the SFT model's accuracy.
				grpoAcc = append(grpoAcc, plotter.XY{X: 0, Y: sftAcc[len(sftAcc)-1].Y})
			}
			reward = append(reward, plotter.XY{X: x, Y: pt.Reward})
			if pt.Accuracy >= 0 {
				grpoAcc = append(grpoAcc, plotter.XY{X: x, Y: pt.Accuracy})
			}
		}
	}
	// Legends sit where the curves are not: mid-left for SFT (accuracy
	// rises late, loss falls early), lower right for GRPO.
	sft, err := panel(name+": SFT (cold start)", "SFT step", true, 1.3*vg.Inch, []series{
		{"training loss (nats/token, capped at 1)", capAt(loss, 1), 2, false},
		{"held-out accuracy (greedy)", sftAcc, 0, true},
	})
	if err != nil {
		return err
	}
	grpo, err := panel(name+": GRPO", "GRPO step", false, 0.5*vg.Inch, []series{
		{"mean reward of the samples", reward, 1, false},
		{"held-out accuracy (greedy)", grpoAcc, 0, true},
	})
	if err != nil {
		return err
	}
	const w, hgt = 11 * vg.Inch, 4.2 * vg.Inch
	img := vgimg.New(w, hgt)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 2,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{{sft, grpo}}, tiles, dc)
	sft.Draw(canvases[0][0])
	grpo.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot: %s: %w", path, err)
	}
	return f.Close()
}

// series is one line of a panel.
type series struct {
	label  string
	xy     plotter.XYs
	color  int
	points bool // mark the values (sparse series such as evaluations)
}

// panel returns a plot of the series on a [0, 1.05] scale, its legend at
// the bottom (left or right), raised by legendY.
func panel(title, xlabel string, legendLeft bool, legendY vg.Length, ss []series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Min, p.Y.Max = 0, 1.05
	p.Add(plotter.NewGrid())
	for _, s := range ss {
		if len(s.xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(s.xy)
		if err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		l.Color = plotColor(s.color)
		p.Add(l)
		if s.points {
			pts, err := plotter.NewScatter(s.xy)
			if err != nil {
				return nil, fmt.Errorf("plot: %w", err)
			}
			pts.Color = plotColor(s.color)
			p.Add(pts)
			p.Legend.Add(s.label, l, pts)
		} else {
			p.Legend.Add(s.label, l)
		}
	}
	p.Legend.Top = false
	p.Legend.Left = legendLeft
	p.Legend.XOffs = vg.Millimeter * 3
	if !legendLeft {
		p.Legend.XOffs = -vg.Millimeter * 3
	}
	p.Legend.YOffs = legendY
	return p, nil
}

// capAt returns xy with every Y above c set to c.
func capAt(xy plotter.XYs, c float64) plotter.XYs {
	out := make(plotter.XYs, len(xy))
	for i, v := range xy {
		out[i] = plotter.XY{X: v.X, Y: min(v.Y, c)}
	}
	return out
}

// plotColor returns the i-th series colour.
func plotColor(i int) color.Color {
	return []color.Color{
		color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
		color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	}[i]
}

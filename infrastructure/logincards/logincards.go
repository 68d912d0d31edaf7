// Package logincards prints login cards as a PDF: eight cards on each A4
// page, dashed cut lines between them, each with a person's name, where to
// sign in, their email and the password generated for them.
//
// The library is codeberg.org/go-pdf/fpdf, the maintained continuation of
// go-pdf/fpdf (archived on GitHub; released on Codeberg through 2026). It
// embeds a subset of a TrueType font, with the ToUnicode map that lets a
// reader copy the text, in memory (no temporary file holds a password).
// The fonts are the Go fonts (golang.org/x/image/font/gofont, BSD
// licensed), which cover the Latin accents of names (é, ï, ø, ł, ğ, ş, …).
package logincards

import (
	"bytes"
	"fmt"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/rollcall/rollcall/application/command"
)

// The page and the grid of cards, in millimetres.
const (
	pageWidth, pageHeight = 210.0, 297.0
	margin                = 10.0
	Columns, Rows         = 2, 4
	// PerPage is how many cards a page holds.
	PerPage = Columns * Rows

	cardWidth  = (pageWidth - 2*margin) / Columns
	cardHeight = (pageHeight - 2*margin) / Rows
	padding    = 6.0
)

// Slot is where a card goes: its page (from 0) and its top-left corner.
type Slot struct {
	Page int
	X, Y float64
}

// Layout places n cards, left to right, top to bottom, page after page.
func Layout(n int) []Slot {
	slots := make([]Slot, n)
	for i := range slots {
		cell := i % PerPage
		slots[i] = Slot{Page: i / PerPage, X: margin + float64(cell%Columns)*cardWidth, Y: margin + float64(cell/Columns)*cardHeight}
	}
	return slots
}

// Pages is the number of pages n cards fill (at least one).
func Pages(n int) int { return max(1, (n+PerPage-1)/PerPage) }

// Printer makes the PDF.
type Printer struct{}

var _ command.CardPrinter = Printer{}

// Print lays the cards out.
func (Printer) Print(sheet command.LoginCardSheet) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Login cards", true)
	pdf.SetCreator("Rollcall", true)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddUTF8FontFromBytes("go", "", goregular.TTF)
	pdf.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	pdf.AddUTF8FontFromBytes("gomono", "", gomono.TTF)
	slots := Layout(len(sheet.Cards))
	for page := range Pages(len(sheet.Cards)) {
		pdf.AddPage()
		cutLines(pdf)
		if len(sheet.Cards) == 0 {
			pdf.SetFont("go", "", 12)
			pdf.Text(margin+padding, margin+padding+4, "No login cards: the import created no accounts with a generated password.")
		}
		for i, slot := range slots {
			if slot.Page == page {
				card(pdf, slot, sheet, sheet.Cards[i])
			}
		}
	}
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("logincards: %w", err)
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("logincards: %w", err)
	}
	return out.Bytes(), nil
}

// cutLines dashes the outline of the grid and the lines between cards.
func cutLines(pdf *fpdf.Fpdf) {
	pdf.SetDrawColor(150, 150, 150)
	pdf.SetLineWidth(0.2)
	pdf.SetDashPattern([]float64{2, 1.5}, 0)
	for c := range Columns + 1 {
		x := margin + float64(c)*cardWidth
		pdf.Line(x, margin, x, pageHeight-margin)
	}
	for r := range Rows + 1 {
		y := margin + float64(r)*cardHeight
		pdf.Line(margin, y, pageWidth-margin, y)
	}
	pdf.SetDashPattern([]float64{}, 0)
}

func card(pdf *fpdf.Fpdf, slot Slot, sheet command.LoginCardSheet, c command.LoginCard) {
	x, y, width := slot.X+padding, slot.Y+padding, cardWidth-2*padding
	grey := func() { pdf.SetTextColor(110, 110, 110) }
	black := func() { pdf.SetTextColor(0, 0, 0) }

	grey()
	fitted(pdf, "go", "", 8, width, x, y+3, sheet.Organization)
	black()
	fitted(pdf, "go", "B", 15, width, x, y+12, fullName(c))

	grey()
	fitted(pdf, "go", "", 8, width, x, y+21, "Sign in at")
	black()
	fitted(pdf, "go", "", 10.5, width, x, y+26, sheet.SignInURL)

	grey()
	fitted(pdf, "go", "", 8, width, x, y+33, "Email")
	black()
	fitted(pdf, "go", "", 10.5, width, x, y+38, c.Email)

	grey()
	fitted(pdf, "go", "", 8, width, x, y+45, "Password")
	black()
	fitted(pdf, "gomono", "", 12, width, x, y+51, c.Password.Reveal())

	grey()
	fitted(pdf, "go", "", 7.5, width, x, cardHeight+slot.Y-padding, "You will choose a new password when you first sign in.")
	black()
}

func fullName(c command.LoginCard) string {
	switch {
	case c.FirstName == "":
		return c.LastName
	case c.LastName == "":
		return c.FirstName
	}
	return c.FirstName + " " + c.LastName
}

// fitted writes text on the baseline y, shrinking the font until the text
// fits the card's width: a long name or address stays whole and readable
// rather than running into the next card.
func fitted(pdf *fpdf.Fpdf, family, style string, size, width, x, y float64, text string) {
	pdf.SetFont(family, style, size)
	for size > 5 && pdf.GetStringWidth(text) > width {
		size -= 0.5
		pdf.SetFont(family, style, size)
	}
	pdf.Text(x, y, text)
}

package logincards

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ledongthuc/pdf"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/secret"
)

// The names carry the accents of real class lists (Latin-1); the test reads
// the text back out of the PDF, so a font without them, or without the map
// from glyphs back to letters, fails here. Letters beyond Latin-1 (Ł, ę, ğ,
// Ş, ř) are checked by TestEveryLetterHasItsGlyph: the text reader used
// here misreads fpdf's one-line ToUnicode map above U+00FF (see
// docs/login-cards.md), though the glyphs printed are right.
var names = [][2]string{
	{"Zoë", "Ødegård"}, {"Thaïs", "Da Silva"}, {"Mathéo", "Van der Berg"}, {"Çelik", "Müller"}, {"Inès", "Núñez"},
	{"Björn", "Ångström"}, {"Åsa", "Ekström"}, {"José", "García"}, {"Noémie", "Lefèvre"}, {"Chloé", "Brontë"},
	{"Siobhán", "Ó Briain"}, {"Zoë", "Ødegård-Lindqvist"}, {"Élodie", "Châtelet"},
}

// beyondLatin1 are names whose letters a Latin-1 font would lack.
var beyondLatin1 = [][2]string{{"Łucja", "Brzęczyszczykiewicz"}, {"Ağan", "Şahin"}, {"Ana", "Ćosić"}, {"Jiří", "Dvořák"}}

func sheet(n int) command.LoginCardSheet {
	s := command.LoginCardSheet{Organization: "École Saint-Exupéry", SignInURL: "https://rollcall.example/sign-in"}
	for i := range n {
		nm := names[i%len(names)]
		s.Cards = append(s.Cards, command.LoginCard{FirstName: nm[0], LastName: nm[1],
			Email: fmt.Sprintf("student%02d@school.example", i+1), Password: secret.New(fmt.Sprintf("ripple-tundra-abacus-graph-%03d", i))})
	}
	return s
}

// pagesText opens the PDF as a reader would and returns each page's text.
func pagesText(t *testing.T, doc []byte) []string {
	t.Helper()
	if !bytes.HasPrefix(doc, []byte("%PDF-")) {
		t.Fatalf("not a PDF: starts with %q", doc[:min(len(doc), 8)])
	}
	r, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatalf("the PDF does not open: %v", err)
	}
	var pages []string
	for i := 1; i <= r.NumPage(); i++ {
		p := r.Page(i)
		var b strings.Builder
		rows, err := p.GetTextByRow()
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		for _, row := range rows {
			for _, w := range row.Content {
				b.WriteString(w.S)
			}
			b.WriteString("\n")
		}
		pages = append(pages, b.String())
	}
	return pages
}

func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		cards, pages, lastPageCards int
	}{
		{1, 1, 1}, {8, 1, 8}, {9, 2, 1}, {16, 2, 8}, {17, 3, 1}, {0, 1, 0},
	} {
		t.Run(fmt.Sprintf("%d cards", tc.cards), func(t *testing.T) {
			if got := Pages(tc.cards); got != tc.pages {
				t.Errorf("Pages(%d) = %d, want %d", tc.cards, got, tc.pages)
			}
			s := sheet(tc.cards)
			doc, err := Printer{}.Print(s)
			if err != nil {
				t.Fatal(err)
			}
			pages := pagesText(t, doc)
			if len(pages) != tc.pages {
				t.Fatalf("the PDF has %d pages, want %d", len(pages), tc.pages)
			}
			onLast := 0
			for i, c := range s.Cards {
				page := pages[i/PerPage]
				for _, want := range []string{c.FirstName, c.LastName, c.Email, c.Password.Reveal(), s.SignInURL} {
					if !strings.Contains(page, want) {
						t.Errorf("card %d: page %d does not read %q:\n%s", i+1, i/PerPage+1, want, page)
					}
				}
				if i/PerPage == tc.pages-1 {
					onLast++
				}
			}
			if onLast != tc.lastPageCards {
				t.Errorf("%d cards on the last page, want %d", onLast, tc.lastPageCards)
			}
			if got := strings.Count(pages[len(pages)-1], "Password"); got != tc.lastPageCards {
				t.Errorf("the last page reads %d cards, want %d", got, tc.lastPageCards)
			}
		})
	}
}

// Cards never overlap and stay on the page, cut lines between them.
func TestSlotsTileThePage(t *testing.T) {
	slots := Layout(PerPage)
	for i, a := range slots {
		if a.X < margin || a.Y < margin || a.X+cardWidth > pageWidth-margin+1e-9 || a.Y+cardHeight > pageHeight-margin+1e-9 {
			t.Errorf("card %d at (%.1f, %.1f) leaves the printable page", i, a.X, a.Y)
		}
		for j, b := range slots[:i] {
			if a.X < b.X+cardWidth-1e-9 && b.X < a.X+cardWidth-1e-9 && a.Y < b.Y+cardHeight-1e-9 && b.Y < a.Y+cardHeight-1e-9 {
				t.Errorf("cards %d and %d overlap", j, i)
			}
		}
	}
}

// The fonts travel in the file: a PDF that named a font without embedding
// it would print the accents with whatever the printer has.
func TestFontsAreEmbedded(t *testing.T) {
	doc, err := Printer{}.Print(sheet(2))
	if err != nil {
		t.Fatal(err)
	}
	r, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatal(err)
	}
	fonts := r.Page(1).Fonts()
	if len(fonts) < 3 {
		t.Fatalf("page 1 uses fonts %v, want the regular, bold and mono Go fonts", fonts)
	}
	for _, name := range fonts {
		f := r.Page(1).Font(name)
		desc := f.V.Key("DescendantFonts").Index(0).Key("FontDescriptor")
		if desc.Key("FontFile2").IsNull() {
			t.Errorf("font %s (%s) is not embedded", name, f.BaseFont())
		}
	}
}

// Every letter of every name is drawn from a glyph embedded in the file:
// the card's font maps the letter (its CID, which is its code point) to a
// glyph of the embedded subset, never to glyph 0, the "missing" box.
func TestEveryLetterHasItsGlyph(t *testing.T) {
	s := command.LoginCardSheet{Organization: "École", SignInURL: "https://rollcall.example/sign-in"}
	for _, nm := range append(slices.Clone(names), beyondLatin1...) {
		s.Cards = append(s.Cards, command.LoginCard{FirstName: nm[0], LastName: nm[1], Email: "a@b.example", Password: secret.New("x")})
	}
	doc, err := Printer{}.Print(s)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatal(err)
	}
	// The names are set in the bold font; find the font whose map covers
	// the most of their letters and require it to cover them all.
	var letters []rune
	for _, c := range s.Cards {
		for _, r := range fullName(c) {
			if r != ' ' {
				letters = append(letters, r)
			}
		}
	}
	best, bestFont := -1, ""
	var missing []string
	for _, name := range r.Page(1).Fonts() {
		rc := r.Page(1).Font(name).V.Key("DescendantFonts").Index(0).Key("CIDToGIDMap").Reader()
		cidToGID, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		covered, lacking := 0, []string{}
		for _, l := range letters {
			i := 2 * int(l)
			if i+1 < len(cidToGID) && (cidToGID[i] != 0 || cidToGID[i+1] != 0) {
				covered++
			} else {
				lacking = append(lacking, string(l))
			}
		}
		if covered > best {
			best, bestFont, missing = covered, name, lacking
		}
	}
	if len(missing) > 0 {
		t.Errorf("font %s has no glyph for %v", bestFont, missing)
	}
}

package passphrase

import (
	"bytes"
	"crypto/rand"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestWordListIsReadableAndDistinct(t *testing.T) {
	words := Words()
	if len(words) != 7772 {
		t.Fatalf("the list has %d words; the entropy below assumes EFF's 7,776 minus 4 hyphenated", len(words))
	}
	lower := regexp.MustCompile(`^[a-z]{3,9}$`)
	seen := map[string]bool{}
	for _, w := range words {
		if !lower.MatchString(w) {
			t.Errorf("%q is not 3 to 9 lower-case letters: hard to read off a card", w)
		}
		if seen[w] {
			t.Errorf("%q is listed twice: the entropy would be lower than computed", w)
		}
		seen[w] = true
	}
}

func TestEntropy(t *testing.T) {
	list := len(Words())
	for _, tc := range []struct {
		name    string
		shape   Shape
		enough  bool
		atLeast float64
	}{
		{"three words and two digits: what was asked, too weak", Shape{3, 2}, false, 45},
		{"four words and two digits: still under 60", Shape{4, 2}, false, 58},
		{"five words, no digits", Shape{5, 0}, true, 64},
		{"the generated shape", Generated, true, 61.6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bits := tc.shape.EntropyBits(list)
			want := float64(tc.shape.Words)*math.Log2(7772) + float64(tc.shape.Digits)*math.Log2(10)
			if math.Abs(bits-want) > 1e-9 {
				t.Errorf("EntropyBits = %.3f, want %.3f", bits, want)
			}
			if bits < tc.atLeast {
				t.Errorf("EntropyBits = %.2f, want at least %.2f", bits, tc.atLeast)
			}
			if (bits >= MinEntropyBits) != tc.enough {
				t.Errorf("%.2f bits: enough = %v, want %v", bits, bits >= MinEntropyBits, tc.enough)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	words := Words()
	for _, tc := range []struct {
		name  string
		shape Shape
	}{
		{"generated", Generated},
		{"three words two digits", Shape{3, 2}},
		{"one word no digits", Shape{1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pw, err := tc.shape.Generate(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(pw.Reveal(), Separator)
			wantParts := tc.shape.Words
			if tc.shape.Digits > 0 {
				wantParts++
			}
			if len(parts) != wantParts {
				t.Fatalf("%d parts, want %d", len(parts), wantParts)
			}
			for _, w := range parts[:tc.shape.Words] {
				if !slices.Contains(words, w) {
					t.Errorf("%q is not a word of the list", w)
				}
			}
			if tc.shape.Digits > 0 && !regexp.MustCompile(`^[0-9]{`+string(rune('0'+tc.shape.Digits))+`}$`).MatchString(parts[len(parts)-1]) {
				t.Errorf("last part %q is not %d digits", parts[len(parts)-1], tc.shape.Digits)
			}
		})
	}
	if _, err := (Shape{0, 2}).Generate(rand.Reader); err == nil {
		t.Error("a passphrase without words was generated")
	}
}

// The words come from the random source given, not from elsewhere: the
// same bytes give the same passphrase, other bytes another.
func TestGenerateDrawsFromTheSourceGiven(t *testing.T) {
	source := bytes.Repeat([]byte{0x37, 0xa1, 0x5c, 0x02, 0xee, 0x91, 0x40, 0x13}, 64)
	a, err := Generated.Generate(bytes.NewReader(source))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generated.Generate(bytes.NewReader(source))
	if a.Reveal() != b.Reveal() {
		t.Errorf("the same random bytes gave %q and %q", a.Reveal(), b.Reveal())
	}
	seen := map[string]bool{}
	for range 200 {
		pw, err := Generated.Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if seen[pw.Reveal()] {
			t.Fatalf("%q drawn twice in 200 draws of 61 bits", pw.Reveal())
		}
		seen[pw.Reveal()] = true
		if n := len(pw.Reveal()); n < 8 || n > 128 {
			t.Errorf("%q has %d characters; the password policy wants 8 to 128", pw.Reveal(), n)
		}
	}
}

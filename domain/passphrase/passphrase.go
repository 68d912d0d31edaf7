// Package passphrase makes the passwords Rollcall generates for accounts
// whose importer asked for them (login cards): a few common English words
// and digits, easy to read off a card and type, drawn uniformly at random so
// their strength is known exactly.
package passphrase

import (
	"crypto/rand"
	_ "embed"
	"errors"
	"io"
	"math"
	"math/big"
	"strings"

	"github.com/rollcall/rollcall/domain/secret"
)

// wordList is EFF's large word list for random passphrases (7,776 common,
// concrete English words of 3 to 9 letters, CC BY 3.0 US, Electronic
// Frontier Foundation, https://www.eff.org/dice) without its four
// hyphenated words, whose hyphen would read as a separator.
//
//go:embed eff_large_wordlist.txt
var wordList string

// Words is the list the words are drawn from, one per line.
func Words() []string { return strings.Fields(wordList) }

// Shape is how many words and digits a passphrase has.
type Shape struct {
	Words  int
	Digits int
}

// Generated is the shape of every generated password: four words and three
// digits ("ripple-tundra-abacus-graph-042"). Three words and two digits
// from any list of readable words stay well under 60 bits (7,772 words give
// 45.4), so a fourth word and a third digit buy the 60 bits the cards
// promise (61.6): see docs/login-cards.md.
var Generated = Shape{Words: 4, Digits: 3}

// MinEntropyBits is the strength a generated password must have.
const MinEntropyBits = 60

// Separator joins the words and the digits.
const Separator = "-"

// EntropyBits is the entropy of a passphrase of this shape drawn uniformly
// from a list of listSize words: every word and digit is independent.
func (s Shape) EntropyBits(listSize int) float64 {
	return float64(s.Words)*math.Log2(float64(listSize)) + float64(s.Digits)*math.Log2(10)
}

// Generate draws a passphrase of this shape from random, which must be a
// cryptographically secure source (crypto/rand.Reader outside tests). Each
// word and digit is drawn uniformly (rand.Int rejects the biased values).
func (s Shape) Generate(random io.Reader) (secret.Secret, error) {
	words := Words()
	if s.Words < 1 || s.Digits < 0 {
		return secret.Secret{}, errors.New("passphrase: a passphrase needs at least one word")
	}
	parts := make([]string, 0, s.Words+1)
	for range s.Words {
		i, err := rand.Int(random, big.NewInt(int64(len(words))))
		if err != nil {
			return secret.Secret{}, err
		}
		parts = append(parts, words[i.Int64()])
	}
	if s.Digits > 0 {
		var digits strings.Builder
		for range s.Digits {
			d, err := rand.Int(random, big.NewInt(10))
			if err != nil {
				return secret.Secret{}, err
			}
			digits.WriteByte(byte('0' + d.Int64()))
		}
		parts = append(parts, digits.String())
	}
	return secret.New(strings.Join(parts, Separator)), nil
}

package account

import "strings"

// particles start a family name: "Ludwig van Beethoven" is Ludwig + van Beethoven.
var particles = map[string]bool{
	"van": true, "von": true, "de": true, "da": true, "del": true, "der": true, "di": true,
	"le": true, "la": true, "du": true, "dos": true, "das": true, "ten": true, "ter": true, "den": true,
}

// SplitFullName splits a full name into first and last names. "Last, First"
// is read as a family name first; otherwise the last word (with any particles
// before it) is the family name. A single word cannot be split.
func SplitFullName(full string) (first, last string, ok bool) {
	full = strings.Join(strings.Fields(full), " ")
	if before, after, found := strings.Cut(full, ","); found {
		last, first = strings.TrimSpace(before), strings.TrimSpace(after)
		return first, last, first != "" && last != ""
	}
	words := strings.Fields(full)
	if len(words) < 2 {
		return "", "", false
	}
	cut := len(words) - 1
	for cut > 1 && particles[words[cut-1]] {
		cut--
	}
	return strings.Join(words[:cut], " "), strings.Join(words[cut:], " "), true
}

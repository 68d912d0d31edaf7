package account

import "strings"

// particles start a family name: "Ludwig van Beethoven" is Ludwig + van
// Beethoven, "Thaïs Da Silva" Thaïs + Da Silva. They are compared in lower
// case: a spreadsheet writes "Van der Berg" as often as "van der Berg".
var particles = map[string]bool{
	"van": true, "von": true, "vom": true, "de": true, "da": true, "das": true, "del": true, "della": true, "delle": true,
	"dello": true, "dei": true, "degli": true, "der": true, "den": true, "des": true, "di": true, "do": true, "dos": true,
	"du": true, "la": true, "le": true, "lo": true, "ten": true, "ter": true, "te": true, "zu": true, "zum": true, "zur": true,
	"bin": true, "binti": true, "ibn": true, "al": true, "el": true, "ben": true, "bint": true, "st.": true, "mac": true, "af": true, "av": true,
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
	for cut > 1 && particles[strings.ToLower(words[cut-1])] {
		cut--
	}
	return strings.Join(words[:cut], " "), strings.Join(words[cut:], " "), true
}

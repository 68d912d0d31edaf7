package importsession

// Traps are choices that look harmless in the wizard and make rows invalid
// by the hundred at the check: said before it, on the page where they can
// be undone, and on the Import for API clients.

// Trap codes.
const (
	// TrapNoPassword: no column holds passwords and the defaults give none,
	// so every new person's row would be invalid (password_missing).
	TrapNoPassword = "no_password"
)

// Trap is a warning about the import's choices so far.
type Trap struct {
	Code, Message string
}

// NewRowsLackPassword reports whether a new account would have no password
// to start with: no column is matched to Password, and the defaults neither
// set one nor generate one per account. Before the defaults are chosen it says what will happen if the
// password box is left empty.
func (imp *Import) NewRowsLackPassword() bool {
	for _, field := range imp.mapping {
		if field == FieldPassword {
			return false
		}
	}
	return !imp.defaults.PasswordSet && !imp.defaults.GeneratePasswords
}

// Traps are the warnings that apply to the import now, while its choices
// can still be changed (a checked import can go back to its defaults);
// none before the columns are matched, during a check, or once committed.
func (imp *Import) Traps() []Trap {
	traps := []Trap{}
	switch imp.state {
	case StateMapped, StateDefaultsChosen, StateValidated:
	default:
		return traps
	}
	if imp.NewRowsLackPassword() {
		where := "The file has no password column"
		if imp.source == SourceClassroom {
			where = "Google Classroom gives no passwords"
		}
		traps = append(traps, Trap{TrapNoPassword, where + " and no default password is set: every new person's row would be invalid. " +
			"Set a default password, generate a password for each account, or map a Password column before checking the rows."})
	}
	return traps
}

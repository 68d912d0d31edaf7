package spreadsheet

// Sample is the file administrators download to fill in. The passwords are
// placeholders to show the column; leaving the column empty uses the
// import's default password.
func Sample() []byte {
	return []byte("First Name,Last Name,Email,Password,Group,Tag\r\n" +
		"Ana,Lima,ana.lima@example.org,Change-me-2026,Class 7B,Robotics\r\n" +
		"Jonas,Berg,jonas.berg@example.org,,Class 7B,\r\n" +
		"Thi,Nguyen,thi.nguyen@example.org,,Class 8A,Choir\r\n")
}

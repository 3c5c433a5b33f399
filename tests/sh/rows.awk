# rows.awk: a CSV of random features from a fixed LCG and a cycling
# label, for tests that need small deterministic row data.
# awk -v seed=S -v rows=N -v cols=C -v classes=K -f rows.awk
BEGIN {
	s = seed
	for (j = 0; j < cols; j++)
		printf "%c,", 97 + j
	print "label"
	for (i = 0; i < rows; i++) {
		line = ""
		for (j = 0; j < cols; j++) {
			s = (s * 1103515245 + 12345) % 2147483648
			line = line sprintf("%.3f,", s / 2147483648)
		}
		print line (i % classes)
	}
}

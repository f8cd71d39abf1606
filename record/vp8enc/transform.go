package vp8enc

// Orthonormal 4-point DCT-II constants scaled by 2^12: 1/2,
// cos(pi/8)/sqrt(2) and cos(3pi/8)/sqrt(2).
const (
	fdctC0 = 2048
	fdctC1 = 2676
	fdctC3 = 1108
)

// fdct4 is the forward transform paired with the inverse DCT of RFC 6386,
// section 14.4. That inverse equals half of the orthonormal 2-D inverse DCT,
// so the coefficients here are twice the orthonormal ones. in and out are in
// raster order. The forward transform only has to be close: the decoder's
// output is defined by the exact integer inverse in idct4Add.
func fdct4(in *[16]int32, out *[16]int32) {
	var t [16]int32
	for r := 0; r < 4; r++ {
		x := in[r*4 : r*4+4]
		s03, s12 := x[0]+x[3], x[1]+x[2]
		d03, d12 := x[0]-x[3], x[1]-x[2]
		// Keep 4 fractional bits: scale 2^12 in, 2^4 out.
		t[r*4+0] = (fdctC0*(s03+s12) + 128) >> 8
		t[r*4+1] = (fdctC1*d03 + fdctC3*d12 + 128) >> 8
		t[r*4+2] = (fdctC0*(s03-s12) + 128) >> 8
		t[r*4+3] = (fdctC3*d03 - fdctC1*d12 + 128) >> 8
	}
	for c := 0; c < 4; c++ {
		s03, s12 := t[c]+t[12+c], t[4+c]+t[8+c]
		d03, d12 := t[c]-t[12+c], t[4+c]-t[8+c]
		// Scale 2^16 in; the result is twice the orthonormal value.
		const sh, rnd = 15, 1 << 14
		out[c] = (fdctC0*(s03+s12) + rnd) >> sh
		out[4+c] = (fdctC1*d03 + fdctC3*d12 + rnd) >> sh
		out[8+c] = (fdctC0*(s03-s12) + rnd) >> sh
		out[12+c] = (fdctC3*d03 - fdctC1*d12 + rnd) >> sh
	}
}

// Constants of the inverse DCT (RFC 6386, section 14.4): 65536*sqrt(2)*cos(pi/8)
// and 65536*sqrt(2)*sin(pi/8). Multiplying by the first as x*c1>>16 equals the
// spec's x + (x*20091>>16).
const (
	idctC1 = 85627
	idctC2 = 35468
)

// idct4Add adds the exact inverse DCT of RFC 6386, section 14.4, of the
// dequantized coefficients c (raster order) to the 4x4 block at dst with the
// given stride, clamping to 0..255. It matches the reference decoder bit for
// bit: a vertical pass first, then a horizontal pass with rounding.
func idct4Add(c *[16]int32, dst []byte, stride int) {
	var m [16]int32
	for i := 0; i < 4; i++ {
		a := c[i] + c[8+i]
		b := c[i] - c[8+i]
		x := (c[4+i] * idctC2) >> 16
		y := (c[12+i] * idctC1) >> 16
		cc := x - y
		x = (c[4+i] * idctC1) >> 16
		y = (c[12+i] * idctC2) >> 16
		d := x + y
		m[i] = a + d
		m[4+i] = b + cc
		m[8+i] = b - cc
		m[12+i] = a - d
	}
	for j := 0; j < 4; j++ {
		r := m[j*4:]
		a := r[0] + r[2] + 4
		b := r[0] - r[2] + 4
		x := (r[1] * idctC2) >> 16
		y := (r[3] * idctC1) >> 16
		cc := x - y
		x = (r[1] * idctC1) >> 16
		y = (r[3] * idctC2) >> 16
		d := x + y
		row := dst[j*stride : j*stride+4]
		row[0] = clamp255(int32(row[0]) + (a+d)>>3)
		row[1] = clamp255(int32(row[1]) + (b+cc)>>3)
		row[2] = clamp255(int32(row[2]) + (b-cc)>>3)
		row[3] = clamp255(int32(row[3]) + (a-d)>>3)
	}
}

func clamp255(v int32) byte {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}

// fwht4 is the forward Walsh-Hadamard transform paired with the inverse of
// RFC 6386, section 14.3. The inverse computes T*X*T/8 with the symmetric
// matrix T (T*T = 4I), so the forward transform is T*Y*T/2.
func fwht4(in *[16]int32, out *[16]int32) {
	var t [16]int32
	for r := 0; r < 4; r++ {
		x := in[r*4:]
		a := x[0] + x[3]
		b := x[1] + x[2]
		c := x[1] - x[2]
		d := x[0] - x[3]
		t[r*4+0] = a + b
		t[r*4+1] = c + d
		t[r*4+2] = a - b
		t[r*4+3] = d - c
	}
	for c := 0; c < 4; c++ {
		a := t[c] + t[12+c]
		b := t[4+c] + t[8+c]
		cc := t[4+c] - t[8+c]
		d := t[c] - t[12+c]
		out[c] = half(a + b)
		out[4+c] = half(cc + d)
		out[8+c] = half(a - b)
		out[12+c] = half(d - cc)
	}
}

// half divides by two, rounding half away from zero.
func half(v int32) int32 {
	if v < 0 {
		return -((-v + 1) >> 1)
	}
	return (v + 1) >> 1
}

// iwht4 is the exact inverse Walsh-Hadamard transform of RFC 6386,
// section 14.3 (vertical pass first, then horizontal with rounding).
func iwht4(in *[16]int32, out *[16]int32) {
	var m [16]int32
	for i := 0; i < 4; i++ {
		a := in[i] + in[12+i]
		b := in[4+i] + in[8+i]
		c := in[4+i] - in[8+i]
		d := in[i] - in[12+i]
		m[i] = a + b
		m[4+i] = c + d
		m[8+i] = a - b
		m[12+i] = d - c
	}
	for j := 0; j < 4; j++ {
		r := m[j*4:]
		a := r[0] + r[3]
		b := r[1] + r[2]
		c := r[1] - r[2]
		d := r[0] - r[3]
		out[j*4+0] = (a + b + 3) >> 3
		out[j*4+1] = (c + d + 3) >> 3
		out[j*4+2] = (a - b + 3) >> 3
		out[j*4+3] = (d - c + 3) >> 3
	}
}

package layout

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// ChainDomain is the domain-separation prefix of chain_0.
const ChainDomain = "reckit/layout/chain/v1\x00"

// ChainSeed returns chain_0 = SHA-256(ChainDomain || session_id): the chain
// value of a recording before its first part (docs/layout.md, "Hash chain").
func ChainSeed(sessionID string) [32]byte {
	h := sha256.New()
	h.Write([]byte(ChainDomain))
	h.Write([]byte(sessionID))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// ChainNext returns chain_i = SHA-256(chain_{i-1} || sha256_i ||
// uint16be(len(name_i)) || name_i || uint64be(size_i)), where chain_{i-1}
// and sha256_i are the 32 raw digest bytes and name_i is at most 255 bytes
// (ValidPartFileName).
func ChainNext(prev, partSHA256 [32]byte, name string, size int64) [32]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(partSHA256[:])
	var n [8]byte
	binary.BigEndian.PutUint16(n[:2], uint16(len(name)))
	h.Write(n[:2])
	h.Write([]byte(name))
	binary.BigEndian.PutUint64(n[:], uint64(size))
	h.Write(n[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func hexString(b []byte) string { return hex.EncodeToString(b) }

func parseDigest(s string) ([32]byte, bool) {
	var d [32]byte
	if !isHexSHA256(s) {
		return d, false
	}
	_, err := hex.Decode(d[:], []byte(s))
	return d, err == nil
}

// ComputeChain returns the chain values chain_1..chain_n of m's parts, in
// part order, as lowercase hex, and chain_n (chain_0 if there are no parts).
// It fails with ErrChain if a part has no valid sha256.
func (m *Manifest) ComputeChain() (perPart []string, head string, err error) {
	c := ChainSeed(m.SessionID)
	perPart = make([]string, len(m.Parts))
	for i, p := range m.Parts {
		d, ok := parseDigest(p.SHA256)
		if !ok {
			return nil, "", fmt.Errorf("%w: part %d (%s): sha256 %q is not 64 lowercase hex digits", ErrChain, i, p.Name, p.SHA256)
		}
		c = ChainNext(c, d, p.Name, p.SizeBytes)
		perPart[i] = hexString(c[:])
	}
	return perPart, hexString(c[:]), nil
}

// AppendPart appends p to m, setting p's chain value and m's chain head.
// p.SHA256 must be set.
func (m *Manifest) AppendPart(p Part) error {
	if !ValidPartFileName(p.Name) {
		return fmt.Errorf("%w: part name %q is not a plain file name", ErrInvalidManifest, p.Name)
	}
	if _, dup := m.Part(p.Name); dup {
		return fmt.Errorf("%w: part %q already listed", ErrInvalidManifest, p.Name)
	}
	d, ok := parseDigest(p.SHA256)
	if !ok {
		return fmt.Errorf("%w: part %s: sha256 %q is not 64 lowercase hex digits", ErrChain, p.Name, p.SHA256)
	}
	prev := ChainSeed(m.SessionID)
	if n := len(m.Parts); n > 0 {
		if prev, ok = parseDigest(m.Parts[n-1].Chain); !ok {
			return fmt.Errorf("%w: part %d (%s) has no valid chain_sha256", ErrChain, n-1, m.Parts[n-1].Name)
		}
	}
	c := ChainNext(prev, d, p.Name, p.SizeBytes)
	p.Chain = hexString(c[:])
	m.Parts = append(m.Parts, p)
	m.Chain = p.Chain
	return nil
}

// RechainParts recomputes every part's chain value and the chain head, as
// after a repair that changed a part's bytes.
func (m *Manifest) RechainParts() error {
	per, head, err := m.ComputeChain()
	if err != nil {
		return err
	}
	for i := range m.Parts {
		m.Parts[i].Chain = per[i]
	}
	m.Chain = head
	return nil
}

// ChainError locates the first chain value that does not match.
type ChainError struct {
	Part int    // index of the part; -1 for the manifest's chain head
	Name string // part name; "" for the head
	Got  string // value in the manifest
	Want string // recomputed value
}

func (e *ChainError) Error() string {
	if e.Part < 0 {
		return fmt.Sprintf("layout: hash chain mismatch: chain_sha256 is %q, want %s", e.Got, e.Want)
	}
	return fmt.Sprintf("layout: hash chain mismatch at part %d (%s): chain_sha256 is %q, want %s", e.Part, e.Name, e.Got, e.Want)
}

// Unwrap returns ErrChain.
func (e *ChainError) Unwrap() error { return ErrChain }

// VerifyChain recomputes the chain from the listed sha256, names and sizes
// and compares it with every part's chain value and the head. It returns
// nil, or an error wrapping ErrChain (a *ChainError for a wrong value). It
// does not read the parts: comparing the files with sha256 and size_bytes
// is the caller's job.
func (m *Manifest) VerifyChain() error {
	per, head, err := m.ComputeChain()
	if err != nil {
		return err
	}
	for i, p := range m.Parts {
		if p.Chain != per[i] {
			return &ChainError{Part: i, Name: p.Name, Got: p.Chain, Want: per[i]}
		}
	}
	if m.Chain != head {
		return &ChainError{Part: -1, Got: m.Chain, Want: head}
	}
	return nil
}

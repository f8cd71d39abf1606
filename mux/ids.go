package mux

import "fmt"

// Element IDs used by reckit (Matroska element specification; WebM subset).
const (
	IDEBML               = 0x1A45DFA3
	IDEBMLVersion        = 0x4286
	IDEBMLReadVersion    = 0x42F7
	IDEBMLMaxIDLength    = 0x42F2
	IDEBMLMaxSizeLength  = 0x42F3
	IDDocType            = 0x4282
	IDDocTypeVersion     = 0x4287
	IDDocTypeReadVersion = 0x4285
	IDVoid               = 0xEC
	IDCRC32              = 0xBF

	IDSegment     = 0x18538067
	IDSeekHead    = 0x114D9B74
	IDSeek        = 0x4DBB
	IDSeekID      = 0x53AB
	IDSeekPos     = 0x53AC
	IDInfo        = 0x1549A966
	IDTracks      = 0x1654AE6B
	IDCues        = 0x1C53BB6B
	IDChapters    = 0x1043A770
	IDTags        = 0x1254C367
	IDAttachments = 0x1941A469
	IDCluster     = 0x1F43B675

	IDTimestamp      = 0xE7
	IDSilentTracks   = 0x5854
	IDPosition       = 0xA7
	IDPrevSize       = 0xAB
	IDSimpleBlock    = 0xA3
	IDBlockGroup     = 0xA0
	IDEncryptedBlock = 0xAF

	IDBlock            = 0xA1
	IDBlockDuration    = 0x9B
	IDReferenceBlock   = 0xFB
	IDBlockAdditions   = 0x75A1
	IDDiscardPadding   = 0x75A2
	IDReferencePrio    = 0xFA
	IDCodecState       = 0xA4
	IDSlices           = 0x8E
	IDBlockVirtual     = 0xA2
	IDReferenceVirtual = 0xFD
)

var idNames = map[uint32]string{
	IDEBML: "EBML", IDVoid: "Void", IDCRC32: "CRC-32",
	IDSegment: "Segment", IDSeekHead: "SeekHead", IDInfo: "Info", IDTracks: "Tracks",
	IDCues: "Cues", IDChapters: "Chapters", IDTags: "Tags", IDAttachments: "Attachments",
	IDCluster: "Cluster", IDTimestamp: "Timestamp", IDSimpleBlock: "SimpleBlock",
	IDBlockGroup: "BlockGroup", IDBlock: "Block", IDBlockDuration: "BlockDuration",
	IDReferenceBlock: "ReferenceBlock", IDPrevSize: "PrevSize", IDPosition: "Position",
}

// IDName returns the element's name, or its ID in hex.
func IDName(id uint32) string {
	if n, ok := idNames[id]; ok {
		return n
	}
	return fmt.Sprintf("0x%X", id)
}

// validChild reports whether an element with ID child may appear directly
// inside an element with ID parent. It is used to find where unknown-size
// Segments and Clusters end (RFC 8794 section 6.2): at the first element that
// cannot be their child.
func validChild(parent, child uint32) bool {
	if child == IDVoid || child == IDCRC32 {
		return true
	}
	switch parent {
	case IDSegment:
		switch child {
		case IDSeekHead, IDInfo, IDTracks, IDCues, IDChapters, IDTags, IDAttachments, IDCluster:
			return true
		}
		return false
	case IDCluster:
		switch child {
		case IDTimestamp, IDSilentTracks, IDPosition, IDPrevSize, IDSimpleBlock, IDBlockGroup, IDEncryptedBlock:
			return true
		}
		return false
	case IDBlockGroup:
		switch child {
		case IDBlock, IDBlockDuration, IDReferenceBlock, IDBlockAdditions, IDDiscardPadding,
			IDReferencePrio, IDCodecState, IDSlices, IDBlockVirtual, IDReferenceVirtual:
			return true
		}
		return false
	}
	return true
}

// unknownSizeAllowed: the Matroska specification allows an unknown size only
// on Segment and Cluster.
func unknownSizeAllowed(id uint32) bool { return id == IDSegment || id == IDCluster }

//go:build !noasm

package cpu

import (
	"testing"
	"unsafe"
)

// TestTileArgsLayout pins the tileArgs offsets that conv_amd64.s uses.
func TestTileArgsLayout(t *testing.T) {
	var a tileArgs
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"in", unsafe.Offsetof(a.in), 0},
		{"weights", unsafe.Offsetof(a.weights), 8},
		{"bias", unsafe.Offsetof(a.bias), 16},
		{"dst", unsafe.Offsetof(a.dst), 24},
		{"taps", unsafe.Offsetof(a.taps), 32},
		{"ntaps", unsafe.Offsetof(a.ntaps), 40},
		{"inChannels", unsafe.Offsetof(a.inChannels), 48},
		{"chanStride", unsafe.Offsetof(a.chanStride), 56},
		{"planeStride", unsafe.Offsetof(a.planeStride), 64},
		{"blocks", unsafe.Offsetof(a.blocks), 72},
		{"lastRows", unsafe.Offsetof(a.lastRows), 80},
		{"relu", unsafe.Offsetof(a.relu), 88},
		{"segOff", unsafe.Offsetof(a.segOff), 96},
		{"segMask", unsafe.Offsetof(a.segMask), 144},
		{"laneMask", unsafe.Offsetof(a.laneMask), 192},
		{"wsave", unsafe.Offsetof(a.wsave), 384},
		{"full", unsafe.Offsetof(a.full), 392},
	} {
		if tc.got != tc.want {
			t.Errorf("offset of %s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

// TestNarrowArgsLayout pins the narrowArgs offsets that conv_amd64.s uses.
func TestNarrowArgsLayout(t *testing.T) {
	var a narrowArgs
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"in", unsafe.Offsetof(a.in), 0},
		{"weights", unsafe.Offsetof(a.weights), 8},
		{"bias", unsafe.Offsetof(a.bias), 16},
		{"dst", unsafe.Offsetof(a.dst), 24},
		{"taps", unsafe.Offsetof(a.taps), 32},
		{"ntaps", unsafe.Offsetof(a.ntaps), 40},
		{"inChannels", unsafe.Offsetof(a.inChannels), 48},
		{"chanStride", unsafe.Offsetof(a.chanStride), 56},
		{"relu", unsafe.Offsetof(a.relu), 64},
		{"segOff", unsafe.Offsetof(a.segOff), 72},
		{"segMask", unsafe.Offsetof(a.segMask), 456},
	} {
		if tc.got != tc.want {
			t.Errorf("offset of %s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

// TestWinogradOutArgsLayout pins the winogradOutArgs offsets that
// winograd_amd64.s uses.
func TestWinogradOutArgsLayout(t *testing.T) {
	var a winogradOutArgs
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"m", unsafe.Offsetof(a.m), 0},
		{"dst", unsafe.Offsetof(a.dst), 8},
		{"bias", unsafe.Offsetof(a.bias), 16},
		{"outC", unsafe.Offsetof(a.outC), 24},
		{"mPStride", unsafe.Offsetof(a.mPStride), 32},
		{"planeStride", unsafe.Offsetof(a.planeStride), 40},
		{"rowStride", unsafe.Offsetof(a.rowStride), 48},
		{"relu", unsafe.Offsetof(a.relu), 56},
		{"mask", unsafe.Offsetof(a.mask), 64},
		{"laneMask", unsafe.Offsetof(a.laneMask), 96},
		{"permOff", unsafe.Offsetof(a.permOff), 224},
	} {
		if tc.got != tc.want {
			t.Errorf("offset of %s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

// TestWinogradInArgsLayout pins the winogradInArgs offsets that
// winograd_amd64.s uses.
func TestWinogradInArgsLayout(t *testing.T) {
	var a winogradInArgs
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"u", unsafe.Offsetof(a.u), 0},
		{"rows", unsafe.Offsetof(a.rows), 8},
		{"colOff", unsafe.Offsetof(a.colOff), 40},
		{"stride", unsafe.Offsetof(a.stride), 72},
		{"mask", unsafe.Offsetof(a.mask), 104},
		{"inC", unsafe.Offsetof(a.inC), 136},
		{"pStride", unsafe.Offsetof(a.pStride), 144},
	} {
		if tc.got != tc.want {
			t.Errorf("offset of %s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

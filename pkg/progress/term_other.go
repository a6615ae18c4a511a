//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package progress

func isTerminal(uintptr) bool   { return false }
func terminalWidth(uintptr) int { return 80 }

package cpu

// splitUnits returns the size of one unit when total items are shared by
// workers: small enough for about 8 units per worker, so that a slow
// worker takes fewer of them, and at least minItems items so that a unit
// outweighs the cost of claiming it.
func splitUnits(total, minItems, workers int) (size, units int) {
	size = max(minItems, (total+8*workers-1)/(8*workers), 1)
	return size, (total + size - 1) / size
}

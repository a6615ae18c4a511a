package helper

import "context"

// InOrder runs independent checks concurrently and returns what running
// them one after another would have returned: the error of the first check
// in order that fails, once every check before it has passed. The checks
// after a failed one are cancelled; InOrder returns when all have.
func InOrder(ctx context.Context, checks ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]chan error, len(checks))
	for i, check := range checks {
		results[i] = make(chan error, 1)
		go func() { results[i] <- check(ctx) }()
	}
	var first error
	for _, r := range results {
		if err := <-r; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

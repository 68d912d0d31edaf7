package postgres

import wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"

// NextBatchQuery is the query a consumer of group runs for its next batch.
func NextBatchQuery(group string) (string, []any, error) {
	q, err := eventsSchema{batchSize: 500}.SelectQuery(wsql.SelectQueryParams{Topic: "events", ConsumerGroup: group, OffsetsAdapter: checkpoints()})
	return q.Query, q.Args, err
}

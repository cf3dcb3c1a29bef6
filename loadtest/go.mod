module github.com/warrenhq/warren/loadtest

go 1.26.0

module github.com/waggle-hq/waggle

go 1.26.8

"""GoFlow: workflow automation on AWS Step Functions."""

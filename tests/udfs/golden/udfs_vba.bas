Function PIPE_AVG_DEAL(prospects, Optional period, Optional owner, Optional as_of, Optional stages, Optional activities, Optional settings, Optional snapshots)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_AVG_DEAL = XLPy.CallUDF("udfs", "PIPE_AVG_DEAL", Array(prospects, period, owner, as_of, stages, activities, settings, snapshots), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_AVG_DEAL = XLPy.CallUDF("udfs", "PIPE_AVG_DEAL", Array(prospects, period, owner, as_of, stages, activities, settings, snapshots))
        Exit Function
    #End If
failed:
    PIPE_AVG_DEAL = Err.Description
End Function

Function PIPE_CALL(calls, period, Optional owner, Optional call_type, Optional as_of, Optional settings)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_CALL = XLPy.CallUDF("udfs", "PIPE_CALL", Array(calls, period, owner, call_type, as_of, settings), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_CALL = XLPy.CallUDF("udfs", "PIPE_CALL", Array(calls, period, owner, call_type, as_of, settings))
        Exit Function
    #End If
failed:
    PIPE_CALL = Err.Description
End Function

Function PIPE_COVERAGE(prospects, targets, period, Optional owner, Optional as_of, Optional stages, Optional activities, Optional settings, Optional snapshots)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_COVERAGE = XLPy.CallUDF("udfs", "PIPE_COVERAGE", Array(prospects, targets, period, owner, as_of, stages, activities, settings, snapshots), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_COVERAGE = XLPy.CallUDF("udfs", "PIPE_COVERAGE", Array(prospects, targets, period, owner, as_of, stages, activities, settings, snapshots))
        Exit Function
    #End If
failed:
    PIPE_COVERAGE = Err.Description
End Function

Function PIPE_CYCLE_DAYS(prospects, Optional period, Optional owner, Optional percentile, Optional as_of, Optional stages, Optional activities, Optional settings, Optional snapshots)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_CYCLE_DAYS = XLPy.CallUDF("udfs", "PIPE_CYCLE_DAYS", Array(prospects, period, owner, percentile, as_of, stages, activities, settings, snapshots), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_CYCLE_DAYS = XLPy.CallUDF("udfs", "PIPE_CYCLE_DAYS", Array(prospects, period, owner, percentile, as_of, stages, activities, settings, snapshots))
        Exit Function
    #End If
failed:
    PIPE_CYCLE_DAYS = Err.Description
End Function

Function PIPE_FORECAST(prospects, period, Optional owner, Optional method, Optional as_of, Optional stages, Optional activities, Optional settings, Optional snapshots, Optional slip)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_FORECAST = XLPy.CallUDF("udfs", "PIPE_FORECAST", Array(prospects, period, owner, method, as_of, stages, activities, settings, snapshots, slip), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_FORECAST = XLPy.CallUDF("udfs", "PIPE_FORECAST", Array(prospects, period, owner, method, as_of, stages, activities, settings, snapshots, slip))
        Exit Function
    #End If
failed:
    PIPE_FORECAST = Err.Description
End Function

Function PIPE_FORECAST_RANGE(prospects, period, Optional owner, Optional trials, Optional seed, Optional as_of, Optional stages, Optional activities, Optional settings, Optional snapshots, Optional slip)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_FORECAST_RANGE = XLPy.CallUDF("udfs", "PIPE_FORECAST_RANGE", Array(prospects, period, owner, trials, seed, as_of, stages, activities, settings, snapshots, slip), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_FORECAST_RANGE = XLPy.CallUDF("udfs", "PIPE_FORECAST_RANGE", Array(prospects, period, owner, trials, seed, as_of, stages, activities, settings, snapshots, slip))
        Exit Function
    #End If
failed:
    PIPE_FORECAST_RANGE = Err.Description
End Function

Function PIPE_FUNNEL(target, avg_deal, stages)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_FUNNEL = XLPy.CallUDF("udfs", "PIPE_FUNNEL", Array(target, avg_deal, stages), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_FUNNEL = XLPy.CallUDF("udfs", "PIPE_FUNNEL", Array(target, avg_deal, stages))
        Exit Function
    #End If
failed:
    PIPE_FUNNEL = Err.Description
End Function

Function PIPE_GAP(prospects, targets, period, Optional owner, Optional as_of, Optional stages, Optional activities, Optional settings, Optional snapshots)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_GAP = XLPy.CallUDF("udfs", "PIPE_GAP", Array(prospects, targets, period, owner, as_of, stages, activities, settings, snapshots), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_GAP = XLPy.CallUDF("udfs", "PIPE_GAP", Array(prospects, targets, period, owner, as_of, stages, activities, settings, snapshots))
        Exit Function
    #End If
failed:
    PIPE_GAP = Err.Description
End Function

Function PIPE_HIT_PROBABILITY(prospects, targets, period, Optional owner, Optional as_of, Optional stages, Optional activities, Optional settings, Optional snapshots, Optional slip)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_HIT_PROBABILITY = XLPy.CallUDF("udfs", "PIPE_HIT_PROBABILITY", Array(prospects, targets, period, owner, as_of, stages, activities, settings, snapshots, slip), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_HIT_PROBABILITY = XLPy.CallUDF("udfs", "PIPE_HIT_PROBABILITY", Array(prospects, targets, period, owner, as_of, stages, activities, settings, snapshots, slip))
        Exit Function
    #End If
failed:
    PIPE_HIT_PROBABILITY = Err.Description
End Function

Function PIPE_PLAN(prospects, stages, targets, period, Optional owner, Optional as_of, Optional activities, Optional settings, Optional snapshots)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_PLAN = XLPy.CallUDF("udfs", "PIPE_PLAN", Array(prospects, stages, targets, period, owner, as_of, activities, settings, snapshots), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_PLAN = XLPy.CallUDF("udfs", "PIPE_PLAN", Array(prospects, stages, targets, period, owner, as_of, activities, settings, snapshots))
        Exit Function
    #End If
failed:
    PIPE_PLAN = Err.Description
End Function

Function PIPE_REQUIRED(activity, prospects, stages, targets, period, Optional owner, Optional as_of, Optional activities, Optional settings, Optional snapshots)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_REQUIRED = XLPy.CallUDF("udfs", "PIPE_REQUIRED", Array(activity, prospects, stages, targets, period, owner, as_of, activities, settings, snapshots), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_REQUIRED = XLPy.CallUDF("udfs", "PIPE_REQUIRED", Array(activity, prospects, stages, targets, period, owner, as_of, activities, settings, snapshots))
        Exit Function
    #End If
failed:
    PIPE_REQUIRED = Err.Description
End Function

Function PIPE_REQUIRED_CALLS(target, avg_deal, rates, Optional won_to_date, Optional expected_pipeline)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_REQUIRED_CALLS = XLPy.CallUDF("udfs", "PIPE_REQUIRED_CALLS", Array(target, avg_deal, rates, won_to_date, expected_pipeline), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_REQUIRED_CALLS = XLPy.CallUDF("udfs", "PIPE_REQUIRED_CALLS", Array(target, avg_deal, rates, won_to_date, expected_pipeline))
        Exit Function
    #End If
failed:
    PIPE_REQUIRED_CALLS = Err.Description
End Function

Function PIPE_REQUIRED_DEALS(target, avg_deal, Optional won_to_date, Optional expected_pipeline)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_REQUIRED_DEALS = XLPy.CallUDF("udfs", "PIPE_REQUIRED_DEALS", Array(target, avg_deal, won_to_date, expected_pipeline), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_REQUIRED_DEALS = XLPy.CallUDF("udfs", "PIPE_REQUIRED_DEALS", Array(target, avg_deal, won_to_date, expected_pipeline))
        Exit Function
    #End If
failed:
    PIPE_REQUIRED_DEALS = Err.Description
End Function

Function PIPE_STALE_COUNT(prospects, Optional owner, Optional days, Optional as_of, Optional stages, Optional activities, Optional settings, Optional snapshots)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_STALE_COUNT = XLPy.CallUDF("udfs", "PIPE_STALE_COUNT", Array(prospects, owner, days, as_of, stages, activities, settings, snapshots), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_STALE_COUNT = XLPy.CallUDF("udfs", "PIPE_STALE_COUNT", Array(prospects, owner, days, as_of, stages, activities, settings, snapshots))
        Exit Function
    #End If
failed:
    PIPE_STALE_COUNT = Err.Description
End Function

Function PIPE_VELOCITY(prospects, Optional owner, Optional as_of, Optional stages, Optional activities, Optional settings, Optional snapshots)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_VELOCITY = XLPy.CallUDF("udfs", "PIPE_VELOCITY", Array(prospects, owner, as_of, stages, activities, settings, snapshots), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_VELOCITY = XLPy.CallUDF("udfs", "PIPE_VELOCITY", Array(prospects, owner, as_of, stages, activities, settings, snapshots))
        Exit Function
    #End If
failed:
    PIPE_VELOCITY = Err.Description
End Function

Function PIPE_WEIGHTED(prospects, period, Optional owner, Optional as_of, Optional stages, Optional activities, Optional settings, Optional snapshots)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_WEIGHTED = XLPy.CallUDF("udfs", "PIPE_WEIGHTED", Array(prospects, period, owner, as_of, stages, activities, settings, snapshots), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_WEIGHTED = XLPy.CallUDF("udfs", "PIPE_WEIGHTED", Array(prospects, period, owner, as_of, stages, activities, settings, snapshots))
        Exit Function
    #End If
failed:
    PIPE_WEIGHTED = Err.Description
End Function

Function PIPE_WIN_RATE(prospects, Optional period, Optional owner, Optional by_value, Optional as_of, Optional stages, Optional activities, Optional settings, Optional snapshots)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_WIN_RATE = XLPy.CallUDF("udfs", "PIPE_WIN_RATE", Array(prospects, period, owner, by_value, as_of, stages, activities, settings, snapshots), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_WIN_RATE = XLPy.CallUDF("udfs", "PIPE_WIN_RATE", Array(prospects, period, owner, by_value, as_of, stages, activities, settings, snapshots))
        Exit Function
    #End If
failed:
    PIPE_WIN_RATE = Err.Description
End Function

Function PIPE_WON(prospects, period, Optional owner, Optional as_of, Optional stages, Optional activities, Optional settings, Optional snapshots)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PIPE_WON = XLPy.CallUDF("udfs", "PIPE_WON", Array(prospects, period, owner, as_of, stages, activities, settings, snapshots), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PIPE_WON = XLPy.CallUDF("udfs", "PIPE_WON", Array(prospects, period, owner, as_of, stages, activities, settings, snapshots))
        Exit Function
    #End If
failed:
    PIPE_WON = Err.Description
End Function


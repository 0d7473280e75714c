// Recurrent ONNX ops (issue 21): LSTM, GRU and RNN in float32, written from the ONNX operator
// definitions. Work in progress.
